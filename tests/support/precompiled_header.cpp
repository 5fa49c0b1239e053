// The translation unit that compiles the test suite's precompiled header
// (iotgw_test_pch in cmake/IotgwTests.cmake); it has no tests of its own.

// LeakSanitizer's rules for mqtt_plugin_sync_broker_tests, the broker tests with client =
// "paho-sync".
//
// The gateway binary links no paho library, so the paho-sync module's libpaho-mqtt3cs, loaded
// RTLD_LOCAL, only ever reaches its own functions (paho_sync_module.hpp). A test process is not
// like that: its own observer client links libpaho-mqtt3as into the global symbol scope, which
// is searched first, and the two libraries export MQTTProperties_* under the same names. Calls
// from one library then land in the other, their heap records part ways, and LeakSanitizer
// reports MQTT 5 properties inside one library or the other (which one depends on the order the
// process loaded them; MQTT 3.1.1 runs, which carry no properties, report nothing). In this
// process that says nothing about the gateway, so leaks with a frame in either paho C library
// are not reported here; leaks in our own code still are, and the async client's tests, in
// mqtt_plugin_broker_tests, run without these rules. The module's own leak check is a run of the
// ASan-built gateway itself (docs/scaling.md, "paho-sync: the second client library").
//
// Default visibility: the sanitizer runtime finds this hook in the executable's dynamic symbol
// table, and the SDK's flags make everything hidden by default.
extern "C" __attribute__((visibility("default"))) const char* __lsan_default_suppressions();
extern "C" __attribute__((visibility("default"))) const char* __lsan_default_suppressions() {
    return "leak:libpaho-mqtt3as.so\nleak:libpaho-mqtt3cs.so\n";
}

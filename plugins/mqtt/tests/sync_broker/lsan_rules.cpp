// LeakSanitizer's rule for mqtt_plugin_sync_broker_tests, the broker tests with client =
// "paho-sync".
//
// The gateway binary links no paho library, so the paho-sync module's libpaho-mqtt3cs, loaded
// RTLD_LOCAL, only ever reaches its own functions (paho_sync_module.hpp). A test process is not
// like that: its own observer client links libpaho-mqtt3as into the global symbol scope, and the
// global scope is searched first, so libpaho-mqtt3cs's calls to MQTTProperties_* land in
// libpaho-mqtt3as. The two libraries' heap records then part ways and LeakSanitizer reports MQTT 5
// properties allocated inside libpaho-mqtt3as. That is this process's doing, not the gateway's:
// leaks with a frame in libpaho-mqtt3as are not reported here. Everything else still is, and the
// async client's tests, in mqtt_plugin_broker_tests, run without this rule.
extern "C" const char* __lsan_default_suppressions();
extern "C" const char* __lsan_default_suppressions() { return "leak:libpaho-mqtt3as.so\n"; }

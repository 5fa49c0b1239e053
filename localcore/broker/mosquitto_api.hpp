// mosquitto's plugin headers in the order they need: mosquitto_broker.h uses the MOSQ_ERR_* and
// MOSQ_LOG_* constants of mosquitto.h without including it.
//
// Of mosquitto.h's functions (libmosquitto, the client library) use only those the broker
// executable itself exports in every supported version: the plugin links no libmosquitto.
// mosquitto_strerror, for one, is exported by 2.0.11 but not by 2.0.21 (the plugin then fails to
// load with "undefined symbol"). mosquitto_topic_matches_sub is exported by both.
#pragma once

#include <mosquitto.h>
#include <mosquitto_broker.h>
#include <mosquitto_plugin.h>

// mosquitto's plugin headers in the order they need: mosquitto_broker.h uses the MOSQ_ERR_* and
// MOSQ_LOG_* constants of mosquitto.h without including it.
#pragma once

#include <mosquitto.h>
#include <mosquitto_broker.h>
#include <mosquitto_plugin.h>

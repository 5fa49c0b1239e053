// The iotgw plugin SDK: include this one header in a plugin.
//
//   #include <iotgw/sdk.hpp>
//   class MyStage : public iotgw::sdk::Processor { ... };
//   IOTGW_DECLARE_PLUGIN(MyStage, {.abi_major = 1, .abi_minor = 0, .name = "my_stage", ...})
//
// Everything here is compiled into the plugin; only <iotgw/plugin_abi.h> crosses into the core.
#pragma once

#include <iotgw/plugin_abi.h>
#include <iotgw/sdk/config.hpp>
#include <iotgw/sdk/declare.hpp>
#include <iotgw/sdk/errors.hpp>
#include <iotgw/sdk/host.hpp>
#include <iotgw/sdk/jobs.hpp>
#include <iotgw/sdk/message.hpp>
#include <iotgw/sdk/plugin.hpp>
#include <iotgw/sdk/schema.hpp>
#include <iotgw/sdk/topic.hpp>

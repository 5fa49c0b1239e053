// Checking one TOML value against one schema field, in two steps so that ${variables} can be
// substituted in between: read_raw checks the shape (a DURATION stays text), finish_value
// parses durations and enforces bounds and choices.
#pragma once

#include <iotgw/core/config_value.hpp>
#include <iotgw/core/field_spec.hpp>

#include <toml++/toml.h>

#include <functional>
#include <optional>
#include <string>

namespace iotgw::core::config_detail {

// Error text such as "expected integer, found string \"ten\"", or nullopt.
std::optional<std::string> read_raw(const FieldSpec& f, const toml::node& n, ConfigValue& out);

std::optional<std::string> finish_value(const FieldSpec& f, ConfigValue& v);

// Applies `fn` to every string a value holds (scalars, array elements, map values); stops at
// the first error it returns.
std::optional<std::string> for_each_string(ConfigValue& v,
                                           const std::function<std::optional<std::string>(std::string&)>& fn);

// 100 -> "100", 0.5 -> "0.5": bounds are doubles in the ABI but usually meant as integers.
std::string format_number(double v);

}  // namespace iotgw::core::config_detail

// The driver registry: every driver ringlogd has, in one table (drivers/registry.cpp), and the
// validation of the options an attach gives a driver.
#pragma once

#include <span>
#include <string_view>

#include "drivers/log_driver.h"

namespace ringlog {

std::span<const DriverDescriptor> allDrivers();
const DriverDescriptor* findDriver(std::string_view name);

// Checks `given` (docker --log-opt pairs) against the driver's table plus `common` (options the
// daemon itself handles); fills in defaults. The error names the offending key.
Result<OptionMap> validateOptions(const DriverDescriptor& driver,
                                  std::span<const OptionSpec> common, const KeyValues& given);

}  // namespace ringlog

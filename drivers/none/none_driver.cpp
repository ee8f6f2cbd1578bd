#include "drivers/none/none_driver.h"

namespace ringlog {

Result<std::unique_ptr<LogDriver>> NoneDriver::create(const ContainerInfo&, const OptionMap&,
                                                      const DriverEnvironment&) {
    return std::unique_ptr<LogDriver>(std::make_unique<NoneDriver>());
}

}  // namespace ringlog

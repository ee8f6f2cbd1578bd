// The "none" driver: counts records and discards them (docker's --log-driver none, plus counts).
#pragma once

#include <array>

#include "drivers/log_driver.h"

namespace ringlog {

class NoneDriver final : public LogDriver {
  public:
    static constexpr std::array<OptionSpec, 0> kOptions{};
    static Result<std::unique_ptr<LogDriver>> create(const ContainerInfo&, const OptionMap&,
                                                     const DriverEnvironment&);

  protected:
    WriteResult doWrite(std::span<const RecordView> records, const DropCount&) override {
        return {WriteStatus::kOk, records.size(), {}};
    }
};

}  // namespace ringlog

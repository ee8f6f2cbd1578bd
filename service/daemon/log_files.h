// A container's log files as the daemon holds them (docs/log-files.md): the follower of its log
// directories, and the sink that puts their lines into the container's ring.
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "service/collect/log_dir_follower.h"
#include "service/container/container.h"

namespace ringlog {

// What an attach asked for, checked: the directories opened, the glob and the limits.
struct LogFilesPlan {
    std::vector<std::pair<std::string, UniqueFd>> dirs;
    std::string glob = "*.log";
    FollowLimits limits;
};

struct ContainerFiles final : FileLineSink {
    explicit ContainerFiles(Container& c) : container(c) {}
    uint16_t fileSource(std::string_view name) override { return container.fileSource(name); }
    bool pushFileLine(uint16_t source, uint64_t end_offset, std::string_view message, uint8_t flags,
                      uint32_t partial_ordinal, uint64_t& partial_id) override {
        return container.pushFileLine(source, end_offset, message, flags, partial_ordinal,
                                      partial_id);
    }
    void beginFileRead() override { container.beginFileRead(); }

    Container& container;
    std::unique_ptr<LogDirFollower> follower;
    // Detached (or every pipe closed, or stopping): read to the end, then released.
    bool finishing = false;
};

}  // namespace ringlog

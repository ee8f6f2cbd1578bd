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

// What an attach asked for, checked: the directories opened, the glob and the limits; for a
// container taken back from the fd store, the registry its earlier instance kept and the sequence
// of its ring's newest record (which of the registry's offsets the ring got to).
struct LogFilesPlan {
    std::vector<std::pair<std::string, UniqueFd>> dirs;
    std::string glob = "*.log";
    FollowLimits limits;
    std::unique_ptr<FileRegistry> registry;
    uint64_t ring_last_sequence = 0;
};

struct ContainerFiles final : FileLineSink {
    explicit ContainerFiles(Container& c) : container(c) {}
    uint16_t fileSource(std::string_view name) override;
    bool pushFileLine(uint16_t source, uint64_t end_offset, std::string_view message, uint8_t flags,
                      uint32_t partial_ordinal, uint64_t& partial_id) override {
        return container.pushFileLine(source, end_offset, message, flags, partial_ordinal,
                                      partial_id);
    }
    void beginFileRead() override { container.beginFileRead(); }
    uint64_t nextSequence() const override { return container.nextSequence(); }

    Container& container;
    // Where each file is read up to, in systemd's fd store ("<serial>.files"); null outside
    // systemd. Before the follower, which writes to it.
    std::unique_ptr<FileRegistry> registry;
    std::unique_ptr<LogDirFollower> follower;
    // Detached (or every pipe closed, or stopping): read to the end, then released.
    bool finishing = false;
    bool names_full_reported = false;
};

}  // namespace ringlog

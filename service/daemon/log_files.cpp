// Log files (docs/log-files.md): the directories an attach names, checked and opened; their
// follower driven by the event loop; a container's files read to their end and released when it
// is detached.
#include "service/daemon/daemon_internal.h"

namespace ringlog {

Result<LogFilesPlan> Daemon::planLogFiles(const AttachRequest& req, const AttachPlan& plan) {
    LogFilesPlan files;
    files.limits.max_line = plan.settings.max_line;
    if (req.log_glob)
        files.glob = *req.log_glob;
    // The limits are common log options: validated by planAttach with every driver's options.
    for (const auto& driver : req.drivers)
        for (const auto& [key, value] : driver.log_opts) {
            if (key == "log-dir-max-files") {
                auto n = parseInteger(value);
                if (!n || *n < 1 || *n > 4096)
                    return invalid("log option \"log-dir-max-files\": \"" + value +
                                   "\" is not a number from 1 to 4096");
                files.limits.max_files = static_cast<size_t>(*n);
            } else if (key == "log-dir-max-rate") {
                auto rate = parseSize(value);
                if (!rate || *rate < 0)
                    return invalid("log option \"log-dir-max-rate\": \"" + value +
                                   "\" is not a size such as 10m");
                files.limits.max_rate = static_cast<uint64_t>(*rate);
            }
        }
    if (req.log_dirs.empty() && (req.log_glob || files.limits.max_rate != 0))
        return invalid("a log glob or log-dir option is given without a log directory");
    for (const auto& path : req.log_dirs) {
        auto dir = openLogDirectory(settings_.log_dir_roots, path);
        if (!dir)
            return dir.error();
        files.dirs.emplace_back(path, std::move(*dir));
    }
    return files;
}

uint16_t ContainerFiles::fileSource(std::string_view name) {
    uint16_t source = container.fileSource(name);
    if (registry && source != 0 && !registry->recordName(source, name) && !names_full_reported) {
        names_full_reported = true;
        spdlog::warn(
            "container {}: its file registry has no room for the name {}: after a restart its "
            "records not yet persisted carry no file name",
            container.info().shortId(), name);
    }
    return source;
}

void Daemon::startLogFiles(Attached& a, LogFilesPlan plan) {
    Container& c = *a.container;
    // Before the consumer reads the ring: its records name their files by these indices.
    if (plan.registry)
        c.restoreFileNames(plan.registry->names());
    if (plan.dirs.empty()) {
        if (plan.registry)
            fd_store_.remove(a.serial, "files");
        return;
    }
    if (!file_watcher_) {
        file_watcher_ = std::make_unique<FileWatcher>();
        file_watch_ = std::make_unique<Watch>(Watch{Watch::kFiles});
        if (file_watcher_->fd() >= 0)
            watch(file_watcher_->fd(), file_watch_.get(), EPOLLIN);
    }
    a.files = std::make_unique<ContainerFiles>(c);
    std::vector<FileRegistry::Resume> resume;
    if (plan.registry) {
        resume = plan.registry->resumePoints(plan.ring_last_sequence);
        a.files->registry = std::move(plan.registry);
    } else if (fd_store_.enabled()) {
        auto registry =
            FileRegistry::create(c.info().shortId(), static_cast<uint32_t>(plan.limits.max_files));
        if (!registry) {
            spdlog::warn(
                "container {}: where its log files are read up to is not kept across a restart "
                "of ringlogd: {}",
                c.info().shortId(), registry.error().message);
        } else {
            fd_store_.keep(a.serial, "files", (*registry)->memfd());
            a.files->registry = std::move(*registry);
        }
    }
    a.files->follower = std::make_unique<LogDirFollower>(
        *file_watcher_, c.info().shortId(), std::move(plan.dirs), plan.glob, plan.limits, *a.files,
        a.files->registry.get(), std::move(resume));
    a.files->follower->context = &a;
    c.holdInputOpen(true);
    // Detached while the earlier instance read its files to their end: this one finishes that.
    if (a.files->registry && a.files->registry->finishing())
        finishLogFiles(a);
}

// The container is detached: its files are read to their end and released (serviceFiles). The
// registry says so, for a next instance that takes the container back before that is done.
void Daemon::finishLogFiles(Attached& a) {
    a.files->finishing = true;
    if (a.files->registry)
        a.files->registry->markFinishing();
}

// Reads what the files have for the ring, as serviceInput reads a pipe; once the container is
// detached, to their end, and then lets it finish.
void Daemon::serviceFiles(Attached& a) {
    auto& c = a.container;
    if (!a.files || c->blocked())
        return;
    LogDirFollower& follower = *a.files->follower;
    if (a.files->finishing) {
        if (!follower.finish(read_buffer_.data(), read_buffer_.size())) {
            c->setBlocked(true);
            parkInputs(a);
            return;
        }
        spdlog::info("container {}: its log files are read to their end and released",
                     c->info().shortId());
        a.files.reset();
        fd_store_.remove(a.serial, "files");
        c->holdInputOpen(false);
        if (c->inputFinished())
            c->closeInput();
        pool_->schedule(c);
        return;
    }
    auto result = follower.readPending(read_buffer_.data(), read_buffer_.size(),
                                       kReadBufferBytes * kReadsPerEvent);
    if (result == LogDirFollower::ReadResult::kBlocked) {
        c->setBlocked(true);
        parkInputs(a);
    }
    pool_->schedule(c);
}

void Daemon::serviceFilesPending() {
    if (!file_watcher_)
        return;
    auto now = std::chrono::steady_clock::now();
    // A copy: serviceFiles may release a follower, which leaves the set.
    std::vector<LogDirFollower*> pending(file_watcher_->pending().begin(),
                                         file_watcher_->pending().end());
    for (LogDirFollower* f : pending)
        if (f->readyAt() <= now)
            serviceFiles(*static_cast<Attached*>(f->context));
}

// The event loop's timeout while followers have more to read: at once, or when a rate-limited
// one may read again.
int Daemon::filesTimeout(int timeout) const {
    if (!file_watcher_ || file_watcher_->pending().empty())
        return timeout;
    auto now = std::chrono::steady_clock::now();
    int64_t soonest = timeout < 0 ? INT64_MAX : timeout;
    for (const LogDirFollower* f : file_watcher_->pending()) {
        if (static_cast<Attached*>(f->context)->container->blocked())
            continue;  // the consumer's wake-up brings it back
        auto wait = std::chrono::ceil<std::chrono::milliseconds>(f->readyAt() - now).count();
        soonest = std::min<int64_t>(soonest, std::max<int64_t>(wait, 0));
    }
    return soonest == INT64_MAX ? -1 : static_cast<int>(soonest);
}

}  // namespace ringlog

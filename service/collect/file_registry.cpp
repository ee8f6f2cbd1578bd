#include "service/collect/file_registry.h"

#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>

namespace ringlog {

namespace {

constexpr char kMagic[8] = {'R', 'L', 'F', 'I', 'L', 'E', 'S', '\0'};
constexpr uint32_t kVersion = 1;
constexpr size_t kPage = 4096;
constexpr uint32_t kMaxSlots = 1 << 16;

size_t roundUp(size_t n) {
    return (n + kPage - 1) / kPage * kPage;
}

// Stores a kill must see in program order (the compiler may not sink one past the next).
template <typename T>
void publish(T& field, T value) {
    std::atomic_ref<T>(field).store(value, std::memory_order_release);
}

template <typename T>
T look(const T& field) {
    return std::atomic_ref<T>(const_cast<T&>(field)).load(std::memory_order_acquire);
}

}  // namespace

struct FileRegistry::Header {
    char magic[8];
    uint32_t version;
    uint32_t slot_count;
    uint32_t name_count;  // published after the name's bytes
    uint32_t finishing;
};

struct FileRegistry::Slot {
    uint64_t dev;
    uint64_t ino;
    uint64_t committed;         // the offset after the newest record the ring took
    uint64_t pending;           // the offset after the record being pushed …
    uint64_t pending_sequence;  // … and that record's sequence (0: none)
    int64_t birth_ns;
    uint16_t dir;
    uint16_t source;
    uint32_t in_use;       // published after the other fields
    uint32_t head_length;  // published after the head's bytes
    uint32_t unused;
    char head[kHeadBytes];
};

namespace {

constexpr size_t kSlotBytes = 128;

size_t slotsBytes(uint32_t slots) {
    return roundUp(size_t{slots} * kSlotBytes);
}

size_t registryBytes(uint32_t slots) {
    return kPage + slotsBytes(slots) + FileRegistry::kNamesBytes;
}

}  // namespace

FileRegistry::FileRegistry(UniqueFd memfd, void* base, size_t size)
    : memfd_(std::move(memfd)), base_(base), size_(size) {
    static_assert(sizeof(Slot) == kSlotBytes);
}

FileRegistry::~FileRegistry() {
    if (base_ != nullptr)
        ::munmap(base_, size_);
}

FileRegistry::Header& FileRegistry::header() const {
    return *static_cast<Header*>(base_);
}

FileRegistry::Slot& FileRegistry::slot(uint32_t index) const {
    return reinterpret_cast<Slot*>(static_cast<char*>(base_) + kPage)[index];
}

char* FileRegistry::namesArea() const {
    return static_cast<char*>(base_) + kPage + slotsBytes(header().slot_count);
}

uint32_t FileRegistry::slots() const {
    return header().slot_count;
}

Result<std::unique_ptr<FileRegistry>> FileRegistry::create(std::string_view name, uint32_t slots) {
    if (slots == 0 || slots > kMaxSlots)
        return invalid("a file registry of " + std::to_string(slots) + " files");
    std::string memfd_name = "ringlog-files:" + std::string(name);
    UniqueFd fd(::memfd_create(memfd_name.c_str(), MFD_CLOEXEC));
    if (!fd)
        return invalid("memfd_create: " + errnoText(errno));
    size_t size = registryBytes(slots);
    // A sparse file: pages are used as slots and names are.
    if (::ftruncate(fd.get(), static_cast<off_t>(size)) != 0)
        return invalid("sizing the file registry: " + errnoText(errno));
    void* base = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd.get(), 0);
    if (base == MAP_FAILED)
        return invalid("mapping the file registry: " + errnoText(errno));
    std::unique_ptr<FileRegistry> r(new FileRegistry(std::move(fd), base, size));
    Header& h = r->header();
    h.version = kVersion;
    h.slot_count = slots;
    std::memcpy(h.magic, kMagic, sizeof kMagic);
    return r;
}

Result<std::unique_ptr<FileRegistry>> FileRegistry::adopt(UniqueFd memfd) {
    struct stat st;
    if (::fstat(memfd.get(), &st) != 0)
        return invalid("the file registry: fstat: " + errnoText(errno));
    auto size = static_cast<size_t>(st.st_size);
    if (size < kPage)
        return invalid("the file registry is " + std::to_string(size) + " bytes");
    void* base = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, memfd.get(), 0);
    if (base == MAP_FAILED)
        return invalid("mapping the file registry: " + errnoText(errno));
    std::unique_ptr<FileRegistry> r(new FileRegistry(std::move(memfd), base, size));
    const Header& h = r->header();
    if (std::memcmp(h.magic, kMagic, sizeof kMagic) != 0)
        return invalid("the file registry's memfd is not one (wrong magic)");
    if (h.version != kVersion)
        return invalid("the file registry is of version " + std::to_string(h.version) +
                       ", this ringlogd reads version " + std::to_string(kVersion));
    if (h.slot_count == 0 || h.slot_count > kMaxSlots || registryBytes(h.slot_count) != size)
        return invalid("the file registry's size (" + std::to_string(size) +
                       " bytes) does not match its " + std::to_string(h.slot_count) + " slots");
    // Where the names end: a name written but not yet counted is written over.
    uint32_t count = look(h.name_count);
    size_t at = 0;
    for (uint32_t i = 0; i < count; ++i) {
        uint16_t length = 0;
        if (at + sizeof length > kNamesBytes)
            return invalid("the file registry's names run past their area");
        std::memcpy(&length, r->namesArea() + at, sizeof length);
        at += sizeof length + length;
        if (at > kNamesBytes)
            return invalid("the file registry's names run past their area");
    }
    r->names_end_ = at;
    return r;
}

bool FileRegistry::recordName(uint16_t source, std::string_view name) {
    Header& h = header();
    uint32_t count = h.name_count;
    if (source <= count)
        return true;
    if (source != count + 1 || name.size() > UINT16_MAX ||
        names_end_ + sizeof(uint16_t) + name.size() > kNamesBytes)
        return false;
    auto length = static_cast<uint16_t>(name.size());
    char* at = namesArea() + names_end_;
    std::memcpy(at, &length, sizeof length);
    std::memcpy(at + sizeof length, name.data(), name.size());
    names_end_ += sizeof length + name.size();
    publish(h.name_count, count + 1);
    return true;
}

std::vector<std::string> FileRegistry::names() const {
    std::vector<std::string> out;
    uint32_t count = look(header().name_count);
    const char* at = namesArea();
    for (uint32_t i = 0; i < count; ++i) {
        uint16_t length = 0;
        std::memcpy(&length, at, sizeof length);
        out.emplace_back(at + sizeof length, length);
        at += sizeof length + length;
    }
    return out;
}

std::optional<uint32_t> FileRegistry::claim(uint16_t dir, const FileIdentity& identity,
                                            uint16_t source, uint64_t offset) {
    for (uint32_t i = 0; i < header().slot_count; ++i) {
        Slot& s = slot(i);
        if (s.in_use != 0)
            continue;
        s.dev = identity.dev;
        s.ino = identity.ino;
        s.birth_ns = identity.birth_ns;
        s.head_length = 0;
        s.dir = dir;
        s.source = source;
        s.committed = offset;
        s.pending = offset;
        s.pending_sequence = 0;
        publish(s.in_use, uint32_t{1});
        return i;
    }
    return std::nullopt;
}

void FileRegistry::recordHead(uint32_t index, uint64_t offset, std::string_view bytes) {
    Slot& s = slot(index);
    // Only what continues the head: a file is read from its start, in order.
    if (offset != s.head_length || offset >= kHeadBytes)
        return;
    size_t n = std::min<size_t>(bytes.size(), kHeadBytes - offset);
    std::memcpy(s.head + offset, bytes.data(), n);
    publish(s.head_length, static_cast<uint32_t>(offset + n));
}

void FileRegistry::release(uint32_t index) {
    publish(slot(index).in_use, uint32_t{0});
}

// The order is what makes a kill harmless: the sequence first, so that until the offset is
// written the sequence names a record not in the ring yet (the committed offset holds).
void FileRegistry::willPush(uint32_t index, uint64_t end, uint64_t sequence) {
    Slot& s = slot(index);
    publish(s.pending_sequence, sequence);
    publish(s.pending, end);
}

void FileRegistry::pushed(uint32_t index, uint64_t end) {
    publish(slot(index).committed, end);
}

// The sequence stays, and another source's record may take it: the pending offset must then say
// no more than the committed one.
void FileRegistry::notPushed(uint32_t index) {
    Slot& s = slot(index);
    publish(s.pending, s.committed);
}

void FileRegistry::rewind(uint32_t index) {
    Slot& s = slot(index);
    publish(s.head_length, uint32_t{0});  // its bytes now are other ones
    publish(s.pending, uint64_t{0});
    publish(s.committed, uint64_t{0});
}

void FileRegistry::markFinishing() {
    publish(header().finishing, uint32_t{1});
}

bool FileRegistry::finishing() const {
    return look(header().finishing) != 0;
}

std::vector<FileRegistry::Resume> FileRegistry::resumePoints(uint64_t ring_last_sequence) const {
    std::vector<Resume> out;
    std::vector<std::string> known = names();
    for (uint32_t i = 0; i < header().slot_count; ++i) {
        const Slot& s = slot(i);
        if (look(s.in_use) == 0)
            continue;
        uint64_t sequence = look(s.pending_sequence);
        bool in_ring = sequence != 0 && sequence <= ring_last_sequence;
        uint32_t head = std::min(look(s.head_length), kHeadBytes);
        out.push_back({i,
                       s.dir,
                       {s.dev, s.ino, s.birth_ns},
                       std::string(s.head, head),
                       s.source,
                       in_ring ? s.pending : s.committed,
                       s.source >= 1 && s.source <= known.size() ? known[s.source - 1] : ""});
    }
    return out;
}

}  // namespace ringlog

#include "live/disk_vfs.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <random>
#include <stdexcept>

namespace ftpsim::live {

using proto::VfsEntry;
using proto::VfsStatus;
using proto::WriteMode;

namespace {

// "/a/b" -> "a/b"; "/" -> ".".
std::string relative(std::string_view abs_path) {
    while (!abs_path.empty() && abs_path.front() == '/') abs_path.remove_prefix(1);
    return abs_path.empty() ? std::string(".") : std::string(abs_path);
}

bool is_root(std::string_view abs_path) { return relative(abs_path) == "."; }

}  // namespace

DiskVfs::DiskVfs(const std::string& root) {
    const int fd = ::open(root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        throw std::runtime_error("--root " + root + ": " +
                                 (errno == ENOTDIR ? std::string("not a directory") : errno_text(errno)));
    root_ = Fd(fd);
    std::random_device rd;
    char buf[64];
    std::snprintf(buf, sizeof buf, "\x01" "ftpsim-live-file-%08x%08x%08x%08x:", rd(), rd(), rd(), rd());
    token_prefix_ = buf;
    spool_prefix_ = token_prefix_;
    spool_prefix_.replace(1, 16, "ftpsim-live-spool");
}

std::string DiskVfs::add_spool(Fd file, std::uint64_t size, std::uint64_t owner) {
    const std::uint64_t id = next_token_++;
    spools_[id] = Spool{std::move(file), size, owner};
    return spool_prefix_ + std::to_string(id);
}

int DiskVfs::walk_nofollow(std::string_view rel, int flags, int mode) const {
    // One component at a time, each opened with O_NOFOLLOW relative to the previous directory.
    int dir = ::dup(root_.get());
    if (dir < 0) return -1;
    if (rel == ".") {
        const int fd = ::openat(dir, ".", flags | O_CLOEXEC, mode);
        const int e = errno;
        ::close(dir);
        errno = e;
        return fd;
    }
    std::size_t i = 0;
    for (;;) {
        const std::size_t j = rel.find('/', i);
        const std::string comp(rel.substr(i, j == std::string_view::npos ? rel.size() - i : j - i));
        if (comp == ".." || comp.empty()) {
            ::close(dir);
            errno = EXDEV;
            return -1;
        }
        const bool last = j == std::string_view::npos;
        const int fd = last ? ::openat(dir, comp.c_str(), flags | O_NOFOLLOW | O_CLOEXEC, mode)
                            : ::openat(dir, comp.c_str(), O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        const int e = errno;
        ::close(dir);
        if (fd < 0) {
            errno = (e == ELOOP) ? EXDEV : e;  // a link: refused
            return -1;
        }
        if (last) return fd;
        dir = fd;
        i = j + 1;
    }
}

int DiskVfs::open_beneath(std::string_view abs_path, int flags, int mode) const {
    const std::string rel = relative(abs_path);
    if (openat2_) {
        open_how how{};
        how.flags = static_cast<std::uint64_t>(flags | O_CLOEXEC);
        how.mode = (flags & O_CREAT) ? static_cast<std::uint64_t>(mode) : 0;
        how.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS;
        for (;;) {
            const long fd = ::syscall(SYS_openat2, root_.get(), rel.c_str(), &how, sizeof how);
            if (fd >= 0) return static_cast<int>(fd);
            if (errno == EINTR || errno == EAGAIN) continue;
            if (errno == ENOSYS) {
                openat2_ = false;
                break;
            }
            return -1;
        }
    }
    return walk_nofollow(rel, flags, mode);
}

std::optional<std::pair<Fd, std::string>> DiskVfs::open_parent(std::string_view abs_path) const {
    const std::string rel = relative(abs_path);
    if (rel == ".") return std::nullopt;
    const auto slash = rel.rfind('/');
    std::string parent = "/";
    if (slash != std::string::npos) parent.append(rel, 0, slash);
    std::string name = slash == std::string::npos ? rel : rel.substr(slash + 1);
    if (name.empty() || name == "." || name == "..") return std::nullopt;
    const int fd = open_beneath(parent, O_PATH | O_DIRECTORY);
    if (fd < 0) return std::nullopt;
    return std::make_pair(Fd(fd), std::move(name));
}

const VfsEntry* DiskVfs::find(std::string_view abs_path) {
    const int fd = open_beneath(abs_path, O_PATH);
    if (fd < 0) return nullptr;
    struct stat st{};
    const int r = ::fstat(fd, &st);
    ::close(fd);
    if (r != 0 || !(S_ISDIR(st.st_mode) || S_ISREG(st.st_mode))) return nullptr;
    VfsEntry e;
    e.is_dir = S_ISDIR(st.st_mode);
    e.size = e.is_dir ? 0 : static_cast<std::uint64_t>(st.st_size);
    e.mtime = st.st_mtim.tv_sec;
    auto it = cache_.find(abs_path);
    if (it == cache_.end()) it = cache_.emplace(std::string(abs_path), e).first;
    else it->second = e;
    return &it->second;
}

std::string DiskVfs::read(std::string_view abs_path, std::uint64_t offset) {
    const VfsEntry* e = find(abs_path);
    if (!e || e->is_dir || offset >= e->size) return {};
    const std::uint64_t id = next_token_++;
    pending_[id] = Pending{std::string(abs_path), offset, current_owner};
    return token_prefix_ + std::to_string(id);
}

std::optional<DiskVfs::Stream> DiskVfs::take_stream(std::string_view bytes) {
    if (bytes.size() <= token_prefix_.size() || bytes.size() > token_prefix_.size() + 20 ||
        bytes.compare(0, token_prefix_.size(), token_prefix_) != 0)
        return std::nullopt;
    std::uint64_t id = 0;
    for (char c : bytes.substr(token_prefix_.size())) {
        if (c < '0' || c > '9') return std::nullopt;
        id = id * 10 + static_cast<std::uint64_t>(c - '0');
    }
    auto it = pending_.find(id);
    if (it == pending_.end()) return std::nullopt;
    Stream s;
    const Pending p = it->second;
    pending_.erase(it);
    const int fd = open_beneath(p.path, O_RDONLY);
    if (fd < 0) return s;
    struct stat st{};
    if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        ::close(fd);
        return s;
    }
    s.file = Fd(fd);
    s.offset = p.offset;
    const auto size = static_cast<std::uint64_t>(st.st_size);
    s.remaining = size > p.offset ? size - p.offset : 0;
    return s;
}

void DiskVfs::forget_streams(std::uint64_t owner) {
    std::erase_if(pending_, [owner](const auto& kv) { return kv.second.owner == owner; });
    std::erase_if(spools_, [owner](const auto& kv) { return kv.second.owner == owner; });
}

std::vector<std::string> DiskVfs::children(std::string_view abs_dir) {
    std::vector<std::string> names;
    const int fd = open_beneath(abs_dir, O_RDONLY | O_DIRECTORY);
    if (fd < 0) return names;
    DIR* d = ::fdopendir(fd);
    if (!d) {
        ::close(fd);
        return names;
    }
    while (dirent* ent = ::readdir(d)) {
        const std::string name = ent->d_name;
        if (name == "." || name == ".." || name.find('\n') != std::string::npos ||
            name.find('\r') != std::string::npos)
            continue;
        names.push_back(name);
    }
    ::closedir(d);
    std::sort(names.begin(), names.end());
    // Only what find() resolves: links leaving the root, dangling links and special files are
    // not shown (render_listing looks every name up).
    const std::string base = is_root(abs_dir) ? std::string("/") : std::string(abs_dir) + "/";
    std::erase_if(names, [&](const std::string& n) { return find(base + n) == nullptr; });
    return names;
}

VfsStatus DiskVfs::mkdir(std::string_view abs_path) {
    if (!writable) return VfsStatus::NotFound;
    auto parent = open_parent(abs_path);
    if (!parent) return VfsStatus::NoParent;
    if (::mkdirat(parent->first.get(), parent->second.c_str(), 0755) == 0) return VfsStatus::Ok;
    return errno == EEXIST ? VfsStatus::Exists : VfsStatus::NoParent;
}

VfsStatus DiskVfs::rmdir(std::string_view abs_path) {
    if (!writable || is_root(abs_path)) return VfsStatus::NotFound;
    auto parent = open_parent(abs_path);
    if (!parent) return VfsStatus::NotFound;
    if (::unlinkat(parent->first.get(), parent->second.c_str(), AT_REMOVEDIR) == 0) return VfsStatus::Ok;
    if (errno == ENOTEMPTY || errno == EEXIST) return VfsStatus::NotEmpty;
    if (errno == ENOTDIR) return VfsStatus::NotDir;
    return VfsStatus::NotFound;
}

VfsStatus DiskVfs::remove(std::string_view abs_path) {
    if (!writable || is_root(abs_path)) return VfsStatus::NotFound;
    const VfsEntry* e = find(abs_path);
    if (!e) return VfsStatus::NotFound;
    if (e->is_dir) return VfsStatus::IsDir;
    auto parent = open_parent(abs_path);
    if (!parent) return VfsStatus::NotFound;
    if (::unlinkat(parent->first.get(), parent->second.c_str(), 0) == 0) return VfsStatus::Ok;
    return VfsStatus::NotFound;
}

VfsStatus DiskVfs::rename(std::string_view from, std::string_view to) {
    if (!writable || is_root(from) || is_root(to)) return VfsStatus::NotFound;
    if (!find(from)) return VfsStatus::NotFound;
    if (const VfsEntry* t = find(to); t && t->is_dir) return VfsStatus::IsDir;
    auto pf = open_parent(from);
    auto pt = open_parent(to);
    if (!pf) return VfsStatus::NotFound;
    if (!pt) return VfsStatus::NoParent;
    if (::renameat(pf->first.get(), pf->second.c_str(), pt->first.get(), pt->second.c_str()) == 0)
        return VfsStatus::Ok;
    return errno == ENOENT ? VfsStatus::NoParent : VfsStatus::NotFound;
}

VfsStatus DiskVfs::write(std::string_view abs_path, std::string_view data, WriteMode mode,
                         std::uint64_t offset) {
    // Whatever happens, this session's spooled uploads are used or given up now.
    struct Forget {
        DiskVfs& d;
        ~Forget() {
            std::erase_if(d.spools_, [this](const auto& kv) { return kv.second.owner == d.current_owner; });
        }
    } forget{*this};
    if (!writable || is_root(abs_path)) return VfsStatus::NotFound;
    if (const VfsEntry* e = find(abs_path); e && e->is_dir) return VfsStatus::IsDir;
    auto parent = open_parent(abs_path);
    if (!parent) return VfsStatus::NoParent;
    int flags = O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC;
    if (mode == WriteMode::Replace) flags |= O_TRUNC;
    if (mode == WriteMode::Append) flags |= O_APPEND;
    const int fd = ::openat(parent->first.get(), parent->second.c_str(), flags, 0644);
    if (fd < 0) return errno == ELOOP ? VfsStatus::NotFound : VfsStatus::NoParent;
    Fd file(fd);
    struct stat st{};
    if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) return VfsStatus::NotFound;
    // A spooled upload: its token ends the data (what came before it arrived in memory).
    std::optional<Spool> spooled;
    if (const auto at = data.rfind(spool_prefix_); at != std::string_view::npos) {
        std::uint64_t id = 0;
        bool digits = at + spool_prefix_.size() < data.size();
        for (char c : data.substr(at + spool_prefix_.size())) {
            if (c < '0' || c > '9') digits = false;
            else id = id * 10 + static_cast<std::uint64_t>(c - '0');
        }
        if (auto it = spools_.find(id); digits && it != spools_.end()) {
            spooled = std::move(it->second);
            spools_.erase(it);
            data = data.substr(0, at);
        }
    }
    std::uint64_t pos = mode == WriteMode::At ? offset : 0;
    auto put = [&](const char* p, std::size_t len) -> VfsStatus {
        std::size_t done = 0;
        while (done < len) {
            const ssize_t n = mode == WriteMode::At ? ::pwrite(fd, p + done, len - done, static_cast<off_t>(pos))
                                                    : ::write(fd, p + done, len - done);
            if (n < 0) {
                if (errno == EINTR) continue;
                return errno == ENOSPC || errno == EDQUOT ? VfsStatus::QuotaExceeded : VfsStatus::NotFound;
            }
            done += static_cast<std::size_t>(n);
            pos += static_cast<std::uint64_t>(n);
        }
        return VfsStatus::Ok;
    };
    if (VfsStatus st2 = put(data.data(), data.size()); st2 != VfsStatus::Ok) return st2;
    if (spooled) {
        std::string chunk(64 * 1024, '\0');
        std::uint64_t from = 0;
        while (from < spooled->size) {
            const ssize_t n = ::pread(spooled->file.get(), chunk.data(),
                                      static_cast<std::size_t>(std::min<std::uint64_t>(chunk.size(), spooled->size - from)),
                                      static_cast<off_t>(from));
            if (n < 0 && errno == EINTR) continue;
            if (n <= 0) return VfsStatus::NotFound;
            if (VfsStatus st2 = put(chunk.data(), static_cast<std::size_t>(n)); st2 != VfsStatus::Ok) return st2;
            from += static_cast<std::uint64_t>(n);
        }
    }
    return VfsStatus::Ok;
}

bool DiskVfs::fits(std::string_view, std::uint64_t new_size) {
    if (over_limit_owner != 0 && over_limit_owner == current_owner) return false;
    return max_transfer == 0 || new_size <= max_transfer;
}

}  // namespace ftpsim::live

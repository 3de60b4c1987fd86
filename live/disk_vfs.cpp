#include "live/disk_vfs.hpp"

#include "live/disk_content.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
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

std::optional<VfsEntry> DiskVfs::stat_entry(std::string_view abs_path) const {
    const int fd = open_beneath(abs_path, O_PATH);
    if (fd < 0) return std::nullopt;
    struct stat st{};
    const int r = ::fstat(fd, &st);
    ::close(fd);
    if (r != 0 || !(S_ISDIR(st.st_mode) || S_ISREG(st.st_mode))) return std::nullopt;
    VfsEntry e;
    e.is_dir = S_ISDIR(st.st_mode);
    e.size = e.is_dir ? 0 : static_cast<std::uint64_t>(st.st_size);
    e.mtime = st.st_mtim.tv_sec;
    return e;
}

const VfsEntry* DiskVfs::find(std::string_view abs_path) {
    const std::optional<VfsEntry> e = stat_entry(abs_path);
    if (!e) return nullptr;
    auto it = cache_.find(abs_path);
    if (it == cache_.end()) it = cache_.emplace(std::string(abs_path), *e).first;
    else it->second = *e;
    return &it->second;
}

// The file's bytes from `offset`, read whole (the protocol core's Vfs::read: tests and the
// in-memory paths; transfers use open_read).
std::string DiskVfs::read(std::string_view abs_path, std::uint64_t offset) {
    auto f = open_file(abs_path, offset);
    std::string out;
    if (f)
        while (f->fill(out, 1 << 20)) {}
    return out;
}

std::unique_ptr<FileSource> DiskVfs::open_file(std::string_view abs_path, std::uint64_t offset, int* err) const {
    int dummy = 0;
    int& e = err ? *err : dummy;
    // O_NONBLOCK: a FIFO put in place since the session looked must not block the server (it is
    // refused below).
    const int fd = open_beneath(abs_path, O_RDONLY | O_NONBLOCK);
    if (fd < 0) {
        e = errno == EXDEV ? ENOENT : errno;
        return nullptr;
    }
    Fd file(fd);
    struct stat st{};
    if (::fstat(fd, &st) != 0) {
        e = errno;
        return nullptr;
    }
    if (!S_ISREG(st.st_mode)) {
        e = S_ISDIR(st.st_mode) ? EISDIR : EINVAL;
        return nullptr;
    }
    const auto size = static_cast<std::uint64_t>(st.st_size);
    return std::make_unique<FileSource>(std::move(file), offset, size > offset ? size - offset : 0);
}

namespace {

bool listable_name(const char* n) {
    const std::string_view name(n);
    return name != "." && name != ".." && name.find('\n') == std::string_view::npos &&
           name.find('\r') == std::string_view::npos;
}

}  // namespace

std::vector<std::string> DiskVfs::children(std::string_view abs_dir) {
    std::vector<std::string> names;
    const int fd = open_beneath(abs_dir, O_RDONLY | O_DIRECTORY);
    if (fd < 0) return names;
    DIR* d = ::fdopendir(fd);
    if (!d) {
        ::close(fd);
        return names;
    }
    while (dirent* ent = ::readdir(d))
        if (listable_name(ent->d_name) && names.size() < kChildrenLimit) names.push_back(ent->d_name);
    ::closedir(d);
    std::sort(names.begin(), names.end());
    // Only what find() resolves: links leaving the root, dangling links and special files are
    // not shown (render_listing looks every name up).
    const std::string base = is_root(abs_dir) ? std::string("/") : std::string(abs_dir) + "/";
    std::erase_if(names, [&](const std::string& n) { return !stat_entry(base + n); });
    return names;
}

std::unique_ptr<DiskVfs::DirListing> DiskVfs::list_dir(std::string_view abs_dir, proto::ListingKind kind,
                                                       const proto::ListingStyle& style) const {
    auto l = std::unique_ptr<DirListing>(new DirListing());
    l->vfs_ = this;
    l->kind_ = kind;
    l->style_ = style;
    l->base_ = is_root(abs_dir) ? std::string("/") : std::string(abs_dir) + "/";
    const int fd = open_beneath(abs_dir, O_RDONLY | O_DIRECTORY | O_NONBLOCK);
    if (fd >= 0) {
        l->dir_.reset(::fdopendir(fd));
        if (!l->dir_) ::close(fd);
    }
    return l;
}

bool DiskVfs::DirListing::next(std::string& out, std::size_t max_bytes) {
    if (!dir_) return false;
    if (!started_) {  // a small directory is sorted, as before; a large one streams as read
        started_ = true;
        while (first_.size() < kSortedUpTo) {
            const dirent* ent = ::readdir(dir_.get());
            if (!ent) {
                at_end_ = true;
                break;
            }
            if (listable_name(ent->d_name)) first_.emplace_back(ent->d_name);
        }
        if (at_end_) std::sort(first_.begin(), first_.end());
    }
    std::size_t looked = 0;
    while (out.size() < max_bytes && looked < 4096) {
        std::string name;
        if (first_pos_ < first_.size()) {
            name = std::move(first_[first_pos_++]);
        } else {
            if (!first_.empty()) {
                first_ = {};
                first_pos_ = 0;
            }
            if (at_end_) return false;
            const dirent* ent = ::readdir(dir_.get());
            if (!ent) {
                at_end_ = true;
                return false;
            }
            if (!listable_name(ent->d_name)) continue;
            name = ent->d_name;
        }
        ++looked;
        const auto e = vfs_->stat_entry(base_ + name);
        if (!e) continue;  // a link leaving the root, a dangling link, a special file
        ++entries_;
        switch (kind_) {
            case proto::ListingKind::Long: out += proto::ls_line(name, *e, style_); break;
            case proto::ListingKind::NamesOnly: out += name + "\r\n"; break;
            case proto::ListingKind::Mlsd: out += proto::mlsd_line(name, *e); break;
        }
    }
    return !(at_end_ && first_pos_ >= first_.size());
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

namespace {

// A failed write's status: a full disk or quota answers as such (452/552), anything else as a
// file that cannot be stored.
VfsStatus write_status(int err) {
    return err == ENOSPC || err == EDQUOT || err == EFBIG ? VfsStatus::QuotaExceeded : VfsStatus::NotFound;
}

// Copies `len` bytes of `from` (from offset 0) to `to` at offset 0; errno on failure.
bool copy_prefix(int from, int to, std::uint64_t len) {
    loff_t in = 0, out = 0;
    while (static_cast<std::uint64_t>(in) < len) {
        const ssize_t n = ::copy_file_range(from, &in, to, &out, static_cast<std::size_t>(len - static_cast<std::uint64_t>(in)), 0);
        if (n > 0) continue;
        if (n < 0 && errno == EINTR) continue;
        if (n == 0) return true;  // the old file shrank meanwhile
        if (errno != EXDEV && errno != ENOSYS && errno != EOPNOTSUPP && errno != EINVAL) return false;
        // No kernel copy between these files: read and write.
        std::string chunk(64 * 1024, '\0');
        while (static_cast<std::uint64_t>(in) < len) {
            const ssize_t r = ::pread(from, chunk.data(), static_cast<std::size_t>(std::min<std::uint64_t>(chunk.size(), len - static_cast<std::uint64_t>(in))), in);
            if (r < 0 && errno == EINTR) continue;
            if (r < 0) return false;
            if (r == 0) return true;
            std::size_t done = 0;
            while (done < static_cast<std::size_t>(r)) {
                const ssize_t w = ::pwrite(to, chunk.data() + done, static_cast<std::size_t>(r) - done, out);
                if (w < 0 && errno == EINTR) continue;
                if (w < 0) return false;
                done += static_cast<std::size_t>(w);
                out += w;
            }
            in += r;
        }
        return true;
    }
    return true;
}

}  // namespace

void DiskVfs::set_error(std::uint64_t owner, int err, std::string what, bool staging, std::string name) {
    error_owner_ = owner;
    error_ = WriteError{err, std::move(what), staging, std::move(name)};
}

std::optional<DiskVfs::WriteError> DiskVfs::take_error(std::uint64_t owner) {
    if (owner == 0 || error_owner_ != owner) return std::nullopt;
    error_owner_ = 0;
    return error_;
}

VfsStatus DiskVfs::write(std::string_view abs_path, std::string_view data, WriteMode mode,
                         std::uint64_t offset) {
    return store(abs_path, data, nullptr, mode, offset, current_owner);
}

VfsStatus DiskVfs::store(std::string_view abs_path, std::string_view data, const UploadSpool* spool,
                         WriteMode mode, std::uint64_t offset, std::uint64_t owner) {
    if (!writable || is_root(abs_path)) return VfsStatus::NotFound;
    auto parent = open_parent(abs_path);
    if (!parent) return VfsStatus::NoParent;
    const int dir = parent->first.get();
    const std::string& name = parent->second;
    // The target is absent or a regular file; a link, FIFO, socket or device is never written.
    struct stat old{};
    bool exists = ::fstatat(dir, name.c_str(), &old, AT_SYMLINK_NOFOLLOW) == 0;
    if (exists && S_ISDIR(old.st_mode)) return VfsStatus::IsDir;
    if (exists && !S_ISREG(old.st_mode)) return VfsStatus::NotFound;
    if (!exists && errno != ENOENT) return VfsStatus::NoParent;
    // Atomic: a new file beside the target (O_EXCL, never through a link), renamed over it only
    // when everything is written; on any failure it is removed and the old file is untouched.
    std::string tmp;
    int fd = -1;
    for (int attempt = 0; attempt < 16 && fd < 0; ++attempt) {
        char buf[48];
        std::snprintf(buf, sizeof buf, ".ftpsim-upload-%016llx", static_cast<unsigned long long>(tmp_rng_()));
        tmp = buf;
        fd = ::openat(dir, tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
        if (fd < 0 && errno != EEXIST) break;
    }
    auto fail = [&](const std::string& what) {
        const int e = errno;
        set_error(owner, e, what, false, name);
        return write_status(e);
    };
    if (fd < 0) return fail("cannot create a temporary file beside " + name);
    Fd file(fd);
    struct Remove {
        int dir;
        const std::string& tmp;
        bool keep = false;
        ~Remove() {
            if (!keep) ::unlinkat(dir, tmp.c_str(), 0);
        }
    } remove_tmp{dir, tmp};
    std::uint64_t pos = 0;
    if (exists) {
        ::fchmod(fd, old.st_mode & 07777);  // an overwritten file keeps its permissions
        if (mode != WriteMode::Replace) {   // APPE and REST: the old bytes first
            const int ofd = ::openat(dir, name.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
            if (ofd < 0) return fail("cannot open " + name);
            Fd oldf(ofd);
            struct stat st{};
            if (::fstat(ofd, &st) != 0 || !S_ISREG(st.st_mode)) return VfsStatus::NotFound;
            if (!copy_prefix(ofd, fd, static_cast<std::uint64_t>(st.st_size))) return fail("cannot copy " + name);
            pos = mode == WriteMode::Append ? static_cast<std::uint64_t>(st.st_size) : offset;
        } else {
            pos = 0;
        }
    } else if (mode == WriteMode::At) {
        pos = offset;
    }
    auto put = [&](const char* p, std::size_t len) -> bool {
        std::size_t done = 0;
        while (done < len) {
            const ssize_t n = ::pwrite(fd, p + done, len - done, static_cast<off_t>(pos));
            if (n < 0) {
                if (errno == EINTR) continue;
                return false;
            }
            done += static_cast<std::size_t>(n);
            pos += static_cast<std::uint64_t>(n);
        }
        return true;
    };
    if (!put(data.data(), data.size())) return fail("cannot write " + name);
    if (spool && spool->size() > 0) {
        std::string chunk(64 * 1024, '\0');
        std::uint64_t from = 0;
        while (from < spool->size()) {
            const ssize_t n = ::pread(spool->fd(), chunk.data(),
                                      static_cast<std::size_t>(std::min<std::uint64_t>(chunk.size(), spool->size() - from)),
                                      static_cast<off_t>(from));
            if (n < 0 && errno == EINTR) continue;
            if (n < 0) return fail("cannot read the upload's staging file");
            if (n == 0) break;
            if (!put(chunk.data(), static_cast<std::size_t>(n))) return fail("cannot write " + name);
            from += static_cast<std::uint64_t>(n);
        }
    }
    if (::close(file.release()) != 0) return fail("cannot write " + name);  // NFS reports late
    if (::renameat(dir, tmp.c_str(), dir, name.c_str()) != 0) return fail("cannot rename the upload to " + name);
    remove_tmp.keep = true;
    return VfsStatus::Ok;
}

bool DiskVfs::fits(std::string_view, std::uint64_t new_size) {
    return max_transfer == 0 || new_size <= max_transfer;
}

std::shared_ptr<const proto::ContentSource> DiskVfs::open_read(std::string_view abs_path) {
    int err = 0;
    auto f = open_file(abs_path, 0, &err);
    if (!f) return std::make_shared<DiskFileSource>(Fd(), 0, err);  // sent as a reset (live server)
    return std::make_shared<DiskFileSource>(f->release_file(), f->remaining(), 0);
}

std::shared_ptr<proto::ContentSink> DiskVfs::open_upload() {
    return std::make_shared<DiskUploadSink>(*this, current_owner);
}

VfsStatus DiskVfs::store(std::string_view abs_path, proto::ContentSink& upload, WriteMode mode, std::uint64_t offset) {
    auto* sink = dynamic_cast<DiskUploadSink*>(&upload);
    if (!sink) return VfsStatus::NotFound;
    const VfsStatus st = store(abs_path, "", &sink->spool(), mode, offset, current_owner);
    sink->finish();
    return st;
}

std::shared_ptr<const proto::ContentSource> DiskVfs::open_listing(std::string_view abs_dir, proto::ListingKind kind,
                                                                  const proto::ListingStyle& style) {
    return std::make_shared<DiskListingSource>(list_dir(abs_dir, kind, style));
}

std::string UploadSpool::staging_dir() {
    const char* dir = std::getenv("TMPDIR");
    return dir && *dir ? std::string(dir) : std::string("/tmp");
}

bool UploadSpool::append(const char* p, std::size_t n) {
    if (err_) return false;
    if (!file_.valid()) {
        const std::string dir = staging_dir();
        int fd = ::open(dir.c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
        if (fd < 0 && (errno == EOPNOTSUPP || errno == EISDIR || errno == EINVAL)) {
            // No O_TMPFILE on this file system: a named file, unlinked at once.
            std::string tmpl = dir + "/ftpsim-upload-XXXXXX";
            fd = ::mkostemp(tmpl.data(), O_CLOEXEC);
            if (fd >= 0) ::unlink(tmpl.c_str());
        }
        if (fd < 0) {
            err_ = errno;
            return false;
        }
        file_ = Fd(fd);
    }
    std::size_t done = 0;
    while (done < n) {
        const ssize_t w = ::write(file_.get(), p + done, n - done);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) {
            err_ = w < 0 ? errno : ENOSPC;
            return false;
        }
        done += static_cast<std::size_t>(w);
    }
    size_ += n;
    return true;
}

}  // namespace ftpsim::live

// A real directory behind the protocol core's Vfs (protocol/vfs.hpp VfsBackend), confined to
// its root.
//
// Confinement: the root is opened once (O_DIRECTORY); every path the session asks for (already
// normalised by Vfs::resolve: absolute, no "." or "..") is opened relative to that descriptor
// with openat2(RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS): a ".." or a symbolic link that would
// leave the root (an absolute link, or a relative one climbing out) fails with EXDEV, and the
// path is reported as not found (550). Links that stay inside the root are followed. On a kernel
// without openat2 (before Linux 5.6) the path is walked one component at a time with O_NOFOLLOW,
// which refuses every symbolic link. Only directories and regular files exist for the server;
// sockets, FIFOs and devices are hidden (a FIFO would block a RETR). Writes never follow a link
// in the last component (O_NOFOLLOW).
//
// The data path (protocol/content.hpp, the session host): open_read() is the file as a source
// read with pread as the data connection drains (live/disk_content.hpp: opened once, with
// O_NONBLOCK and a regular-file check, so a FIFO can never block the loop); open_listing() a
// directory listing read as it drains (bounded memory per listing; a directory of up to
// kSortedUpTo entries is sorted by name, a larger one listed in the order the directory is
// read); open_upload() a sink that spools an upload to an unnamed file in the staging directory
// ($TMPDIR or /tmp) as it arrives, and store() copies it into place atomically: into a new file
// beside the target (".ftpsim-upload-<random>", O_CREAT|O_EXCL|O_NOFOLLOW; for APPE and REST the
// old bytes are copied first), renamed over the target only when everything was written; on a
// failure the new file is removed, the old file is untouched and the system error is kept for
// the reply (take_error()). Only a missing target or a regular file is written: a link, FIFO,
// socket or device answers as a file that cannot be stored.
//
// Writability: writes (STOR/APPE/STOU, MKD, RMD, DELE, RNFR/RNTO) are allowed only while
// `writable` is true; the live server sets it before each call into a session from that
// session's user (anonymous: --writable; users file: rw/ro). A refused write answers as a missing
// file does (550/553). Transfer size: fits() refuses a file larger than `max_transfer` (452).
#pragma once

#include <dirent.h>

#include <algorithm>
#include <cstdint>
#include <map>
#include <memory>
#include <random>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "live/sockets.hpp"
#include "live/transport.hpp"
#include "protocol/vfs.hpp"

namespace ftpsim::live {

// An upload's bytes as they arrive, in an unnamed staging file (O_TMPFILE in $TMPDIR or /tmp;
// on a file system without O_TMPFILE, a named file unlinked at once), created at the first byte.
// DiskVfs::store() then copies it into place atomically.
class UploadSpool {
public:
    static std::string staging_dir();  // $TMPDIR, else /tmp
    // Appends; false when the staging file cannot be made or written (error() says why).
    bool append(const char* p, std::size_t n);
    std::uint64_t size() const { return size_; }
    int error() const { return err_; }
    int fd() const { return file_.get(); }
    void close() { file_.close(); }  // stored or given up: the staging file's space is freed

private:
    Fd file_;
    std::uint64_t size_ = 0;
    int err_ = 0;
};

class DiskVfs final : public proto::VfsBackend {
public:
    // Opens `root` (must be a directory). Throws std::runtime_error with a readable message.
    explicit DiskVfs(const std::string& root);

    // Open `abs_path` beneath the root with open(2) `flags`; -1 with errno (EXDEV: escapes).
    int open_beneath(std::string_view abs_path, int flags, int mode = 0) const;
    // The directory that holds `abs_path` and the last component's name; nullopt if the parent
    // does not resolve beneath the root. The root itself has no parent.
    std::optional<std::pair<Fd, std::string>> open_parent(std::string_view abs_path) const;

    // The entry at `abs_path` (a directory or regular file beneath the root), not cached.
    std::optional<proto::VfsEntry> stat_entry(std::string_view abs_path) const;

    // VfsBackend.
    const proto::VfsEntry* find(std::string_view abs_path) override;
    std::string read(std::string_view abs_path, std::uint64_t offset) override;
    std::vector<std::string> children(std::string_view abs_dir) override;
    proto::VfsStatus mkdir(std::string_view abs_path) override;
    proto::VfsStatus rmdir(std::string_view abs_path) override;
    proto::VfsStatus remove(std::string_view abs_path) override;
    proto::VfsStatus rename(std::string_view from, std::string_view to) override;
    proto::VfsStatus write(std::string_view abs_path, std::string_view data, proto::WriteMode mode,
                           std::uint64_t offset) override;
    bool fits(std::string_view abs_path, std::uint64_t new_size) override;
    std::shared_ptr<const proto::ContentSource> open_read(std::string_view abs_path) override;
    std::shared_ptr<proto::ContentSink> open_upload() override;
    proto::VfsStatus store(std::string_view abs_path, proto::ContentSink& upload, proto::WriteMode mode,
                           std::uint64_t offset) override;
    std::shared_ptr<const proto::ContentSource> open_listing(std::string_view abs_dir, proto::ListingKind kind,
                                                             const proto::ListingStyle& style) override;

    // ---- Content as sources and sinks ---------------------------------------------------------
    // The regular file at `abs_path` from `offset`, opened now without blocking (O_NONBLOCK and
    // a type check: a FIFO, device or socket put in place meanwhile is refused); null with
    // *err set (ENOENT, EISDIR, EINVAL for a special file) when it cannot be sent.
    std::unique_ptr<FileSource> open_file(std::string_view abs_path, std::uint64_t offset, int* err = nullptr) const;
    // Stores an upload atomically: `data` then the spooled bytes (`spool` may be null) into a new
    // file beside the target (O_CREAT|O_EXCL|O_NOFOLLOW; for Append/At the old bytes first),
    // renamed over it only when everything was written and closed. On a failure the target is
    // untouched, the new file removed, and the system error kept for `owner` (take_error()).
    proto::VfsStatus store(std::string_view abs_path, std::string_view data, const UploadSpool* spool,
                           proto::WriteMode mode, std::uint64_t offset, std::uint64_t owner);

    // The system error behind a failed store of session `owner` (write() or the live server's
    // staging file), once: the reply and the log line name it.
    struct WriteError {
        int err = 0;
        std::string what;  // "cannot write NAME", "cannot create a temporary file beside NAME", ...
        bool staging = false;  // the staging file failed (else the target's)
        std::string name;      // the target's name
    };
    void set_error(std::uint64_t owner, int err, std::string what, bool staging = false, std::string name = {});
    std::optional<WriteError> take_error(std::uint64_t owner);

    static constexpr std::size_t kSortedUpTo = 4096;
    // children() (STAT PATH, rendered in memory) lists at most this many names.
    static constexpr std::size_t kChildrenLimit = 16384;
    class DirListing final : public ByteSource {
    public:
        // Appends lines to `out` until it holds about `max_bytes` (or 4096 names were looked at);
        // false when the listing is complete.
        bool next(std::string& out, std::size_t max_bytes);
        bool fill(std::string& out, std::size_t max) override { return next(out, std::min<std::size_t>(max, 16 * 1024)); }
        bool costly() const override { return true; }
        std::uint64_t entries() const { return entries_; }

    private:
        friend class DiskVfs;
        struct CloseDir {
            void operator()(DIR* d) const { ::closedir(d); }
        };
        const DiskVfs* vfs_ = nullptr;
        std::unique_ptr<DIR, CloseDir> dir_;
        std::string base_;
        proto::ListingKind kind_ = proto::ListingKind::Long;
        proto::ListingStyle style_;
        std::vector<std::string> first_;  // the first kSortedUpTo names
        std::size_t first_pos_ = 0;
        bool started_ = false, at_end_ = false;
        std::uint64_t entries_ = 0;
    };
    // The listing of `abs_dir` as a source, read as the data connection drains; a directory that
    // cannot be opened gives an empty listing.
    std::unique_ptr<DirListing> list_dir(std::string_view abs_dir, proto::ListingKind kind,
                                         const proto::ListingStyle& style) const;
    // Set by the caller around each session call (the upload sinks made meanwhile belong to
    // current_owner: their errors are its).
    bool writable = false;
    std::uint64_t current_owner = 0;
    std::uint64_t max_transfer = 0;  // 0 = no limit
    // Entries returned by find() stay valid until this is called (between session calls).
    void trim_cache() { cache_.clear(); }

    bool have_openat2() const { return openat2_; }
    void force_component_walk() { openat2_ = false; }  // tests: the fallback path

private:
    int walk_nofollow(std::string_view rel, int flags, int mode) const;

    Fd root_;
    mutable bool openat2_ = true;
    std::map<std::string, proto::VfsEntry, std::less<>> cache_;
    std::uint64_t error_owner_ = 0;
    WriteError error_;
    std::mt19937_64 tmp_rng_{std::random_device{}()};
};

}  // namespace ftpsim::live

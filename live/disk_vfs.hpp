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
// Uploads: the live server spools an upload's bytes to an unnamed temporary file (O_TMPFILE in
// $TMPDIR or /tmp, the staging directory) and hands the session a token instead (add_spool());
// when the session stores the upload, write() finds the token at the end of the data and copies
// the file into place. Atomically: into a new file beside the target (".ftpsim-upload-<random>",
// O_CREAT|O_EXCL|O_NOFOLLOW; for APPE and REST the old bytes are copied first), renamed over the
// target only when everything was written; on a failure the new file is removed, the old file is
// untouched and the system error is kept for the reply (take_error()). Only a missing target or a
// regular file is written: a link, FIFO, socket or device answers as a file that cannot be
// stored, and nothing is ever opened in a way that blocks (O_NONBLOCK).
//
// Streaming: read() does not load the file. It returns a short token (a per-process random
// prefix and a number) that stands for "this file from this offset"; the live server recognises
// the token in the session's SendData and streams the file from disk in 64 KiB chunks as the
// socket accepts them (take_stream()). With `stream_listings`, a directory listing is streamed
// the same way: children() returns one placeholder name, the session renders its one line, and
// the live server replaces that line by a DirListing (take_listing()) that reads the directory
// as the data connection drains (bounded memory per listing; a directory of up to kSortedUpTo
// entries is sorted by name, a larger one is listed in the order the directory is read).
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
    void adopt(Fd file, std::uint64_t size) {  // an existing staging file
        file_ = std::move(file);
        size_ = size;
    }

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

    // ---- Content as sources and sinks (no tokens) ----------------------------------------
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

    // A token made by read(): the open file positioned at its offset, and the bytes to send.
    struct Stream {
        Fd file;
        std::uint64_t offset = 0;
        std::uint64_t remaining = 0;
    };
    // nullopt when `bytes` is not a token of this DiskVfs (ordinary data: a listing).
    // A token whose file can no longer be opened gives a Stream with an invalid fd.
    std::optional<Stream> take_stream(std::string_view bytes);
    // An upload spooled to a temporary file by the live server: the token the session receives
    // as the upload's bytes; write() recognises it at the end of its data and copies the file.
    std::string add_spool(Fd file, std::uint64_t size, std::uint64_t owner);
    // Forget the tokens issued while `owner` was current (its session ended).
    void forget_streams(std::uint64_t owner);
    // Set while the live server reports an upload past --max-transfer: fits() says no.
    std::uint64_t over_limit_owner = 0;
    // Set while the live server reports an upload whose staging file failed: fits() says no.
    std::uint64_t stage_failed_owner = 0;

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

    // Streamed listings (see above).
    bool stream_listings = false;
    static constexpr std::size_t kSortedUpTo = 4096;
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
    std::unique_ptr<DirListing> open_listing(std::string_view abs_dir, proto::ListingKind kind,
                                             const proto::ListingStyle& style) const;
    // The listing a session's SendData stands for (its placeholder line), or null when `bytes`
    // holds none. A directory that can no longer be opened gives an empty listing.
    std::unique_ptr<DirListing> take_listing(std::string_view bytes, proto::ListingKind kind,
                                             const proto::ListingStyle& style);

    // Set by the caller around each session call.
    bool writable = false;
    std::uint64_t current_owner = 0;
    std::uint64_t max_transfer = 0;  // 0 = no limit
    // Entries returned by find() stay valid until this is called (between session calls).
    void trim_cache() { cache_.clear(); }

    bool have_openat2() const { return openat2_; }
    void force_component_walk() { openat2_ = false; }  // tests: the fallback path

private:
    bool is_listing_token_path(std::string_view abs_path) const;
    int walk_nofollow(std::string_view rel, int flags, int mode) const;

    Fd root_;
    mutable bool openat2_ = true;
    std::map<std::string, proto::VfsEntry, std::less<>> cache_;
    std::string token_prefix_;
    struct Pending {
        std::string path;
        std::uint64_t offset;
        std::uint64_t owner;
    };
    std::map<std::uint64_t, Pending> pending_;
    std::string spool_prefix_;
    struct Spool {
        Fd file;
        std::uint64_t size = 0;
        std::uint64_t owner = 0;
    };
    std::map<std::uint64_t, Spool> spools_;
    std::string list_prefix_;
    struct PendingList {
        std::string dir;
        std::uint64_t owner;
    };
    std::map<std::uint64_t, PendingList> pending_lists_;
    std::uint64_t next_token_ = 1;
    std::uint64_t error_owner_ = 0;
    WriteError error_;
    std::mt19937_64 tmp_rng_{std::random_device{}()};
};

}  // namespace ftpsim::live

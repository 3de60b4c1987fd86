// An in-memory file system for the simulated FTP server: directories, files with a size and
// deterministic content, an optional quota (a full disk answers 452), and the listing formats the
// modelled servers print (ls -l as vsftpd and pyftpdlib write it, NLST names, MLSD facts).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "protocol/content.hpp"

namespace ftpsim::proto {

struct VfsEntry {
    bool is_dir = false;
    std::uint64_t size = 0;
    std::int64_t mtime = 0;              // seconds since 1970-01-01 UTC
    // The bytes (given, uploaded); null = generated from the path (generated_source). Never
    // materialised: a source produces any range on demand.
    std::shared_ptr<const ContentSource> content;
};

// Where an upload goes while it arrives (ReceiveInto's sink on the server): it keeps the bytes up
// to `keep` and, past that, only whether they are still what a simulated client uploads
// (upload_pattern_source), so a 1 GiB STOR costs no more than `keep` bytes. Vfs::store makes it
// the file.
class UploadSink final : public ContentSink {
public:
    static constexpr std::size_t kKeep = 64 * 1024;
    explicit UploadSink(std::size_t keep = kKeep) : keep_(keep) {}
    bool write(std::string_view bytes) override;
    std::uint64_t size() const override { return size_; }
    bool all_kept() const { return size_ == kept_.size(); }
    const std::string& kept() const { return kept_; }
    // The received bytes as a source: the kept bytes, or the upload pattern they matched. An
    // upload past `keep` bytes that is not the pattern (only a hand-written data stream can be)
    // reads back as the generated content of `abs_path` (a stated simplification).
    std::shared_ptr<const ContentSource> content(std::string_view abs_path) const;

private:
    std::size_t keep_;
    std::string kept_;
    std::uint64_t size_ = 0;
    bool pattern_ = true;
};

enum class VfsStatus : std::uint8_t {
    Ok,
    NotFound,
    Exists,
    NotEmpty,
    IsDir,
    NotDir,
    NoParent,
    QuotaExceeded,
};

enum class WriteMode : std::uint8_t { Replace, Append, At };

// Another file system behind a Vfs: live mode serves a real directory through one
// (live/disk_vfs.hpp). When a Vfs has a backend, find/read/children/mkdir/rmdir/remove/rename/
// write/fits go to it and the in-memory tree is unused; the simulator never sets one, so its
// behaviour is unchanged. Paths are absolute, as Vfs::resolve makes them. A pointer returned by
// find() stays valid at least until the backend's owner says otherwise (the live server keeps
// them until the session call that asked for them has returned).
class VfsBackend {
public:
    virtual ~VfsBackend() = default;
    virtual const VfsEntry* find(std::string_view abs_path) = 0;
    virtual std::string read(std::string_view abs_path, std::uint64_t offset) = 0;
    virtual std::vector<std::string> children(std::string_view abs_dir) = 0;
    virtual VfsStatus mkdir(std::string_view abs_path) = 0;
    virtual VfsStatus rmdir(std::string_view abs_path) = 0;
    virtual VfsStatus remove(std::string_view abs_path) = 0;
    virtual VfsStatus rename(std::string_view from, std::string_view to) = 0;
    virtual VfsStatus write(std::string_view abs_path, std::string_view data, WriteMode mode,
                            std::uint64_t offset) = 0;
    // Whether a file at `path` may grow to `new_size` bytes (a size limit: false -> 452).
    virtual bool fits(std::string_view abs_path, std::uint64_t new_size) = 0;
};

class Vfs {
public:
    static constexpr std::int64_t kDefaultMtime = 1704067200;  // 2024-01-01 00:00:00 UTC

    Vfs();  // just "/"

    // Building the tree (scenarios, tests). Parents are created as needed.
    void add_dir(std::string_view path, std::int64_t mtime = kDefaultMtime);
    void add_file(std::string_view path, std::uint64_t size, std::int64_t mtime = kDefaultMtime);
    void put_file(std::string_view path, std::string content, std::int64_t mtime = kDefaultMtime);
    void put_file(std::string_view path, std::shared_ptr<const ContentSource> content,
                  std::int64_t mtime = kDefaultMtime);

    void set_quota(std::optional<std::uint64_t> bytes) { quota_ = bytes; }
    std::optional<std::uint64_t> quota() const { return quota_; }
    std::uint64_t used() const;  // sum of file sizes
    // Whether a file at `path` may grow to `new_size` bytes without exceeding the quota.
    bool fits(std::string_view path, std::uint64_t new_size) const;

    // "/a/b" + "../c" -> "/a/c"; an absolute argument ignores cwd.
    static std::string resolve(std::string_view cwd, std::string_view arg);
    static std::string base_name(std::string_view path);

    const VfsEntry* find(std::string_view abs_path) const;
    // The file's bytes from `offset` (generated deterministically unless stored). Materialises
    // them: for tests and small files; transfers use open_read.
    std::string read(std::string_view abs_path, std::uint64_t offset = 0) const;
    // The file's content as a source (null: no such file). With a backend, its read() whole.
    std::shared_ptr<const ContentSource> open_read(std::string_view abs_path) const;
    // A sink for an upload, made the file by store() (with a backend it keeps every byte).
    std::shared_ptr<UploadSink> open_upload() const;
    VfsStatus store(std::string_view abs_path, const UploadSink& upload, WriteMode mode,
                    std::uint64_t offset = 0, std::int64_t mtime = kDefaultMtime);
    // Names directly inside a directory, sorted.
    std::vector<std::string> children(std::string_view abs_dir) const;

    VfsStatus mkdir(std::string_view abs_path, std::int64_t mtime = kDefaultMtime);
    VfsStatus rmdir(std::string_view abs_path);
    VfsStatus remove(std::string_view abs_path);
    VfsStatus rename(std::string_view from, std::string_view to);
    VfsStatus write(std::string_view abs_path, std::string_view data, WriteMode mode,
                    std::uint64_t offset = 0, std::int64_t mtime = kDefaultMtime);
    // A name that does not exist yet, for STOU: "base", "base.1", "base.2", ...
    std::string unique_name(std::string_view abs_base) const;

    // Serve another file system (live mode); null = the in-memory tree. Copies of this Vfs share it.
    void set_backend(std::shared_ptr<VfsBackend> backend) { backend_ = std::move(backend); }
    VfsBackend* backend() const { return backend_.get(); }

private:
    std::map<std::string, VfsEntry, std::less<>> entries_;
    std::optional<std::uint64_t> quota_;
    std::shared_ptr<VfsBackend> backend_;
};

// The deterministic content of a generated file: the path and a line number, repeated.
std::string generated_content(std::string_view abs_path, std::uint64_t offset, std::uint64_t size);

// ---- Listings ------------------------------------------------------------------------------
struct ListingStyle {
    int nlink_width = 4;        // vsftpd pads the link count to 4, pyftpdlib to 3
    std::string owner = "0";    // vsftpd prints numeric ids (text_userdb_names=NO)
    std::string group = "0";
    std::int64_t now = Vfs::kDefaultMtime;  // "ls" prints the year instead of the time after 182 days
};

enum class ListingKind : std::uint8_t { Long, NamesOnly, Mlsd };

// The listing of `abs_path` (a directory's entries, or the single file), each line ending CRLF.
std::string render_listing(const Vfs& vfs, std::string_view abs_path, ListingKind kind,
                           const ListingStyle& style);
std::string ls_line(std::string_view name, const VfsEntry& e, const ListingStyle& style);
std::string mlsd_line(std::string_view name, const VfsEntry& e);
std::string mdtm_time(std::int64_t unix_seconds);  // "YYYYMMDDHHMMSS" (RFC 3659)

}  // namespace ftpsim::proto

// The live server's file contents on the session host's data path (protocol/content.hpp): a file
// read from disk as it is sent, a directory listing read as it is sent, and an upload spooled to
// the staging directory as it arrives. Nothing holds a file's bytes: a source reads a chunk with
// pread when the host pulls it, a sink writes each chunk when the host pushes it.
#pragma once

#include <cstdint>
#include <limits>
#include <memory>
#include <string>

#include "live/disk_vfs.hpp"
#include "protocol/content.hpp"

namespace ftpsim::live {

// A regular file opened once (O_NONBLOCK, type-checked): its size then, its bytes by pread.
class DiskFileSource final : public proto::ContentSource {
public:
    // `err` != 0: the file could not be opened (it vanished or became a FIFO since the session
    // looked): an empty source the live server sends as a reset (failed()).
    DiskFileSource(Fd file, std::uint64_t size, int err) : file_(std::move(file)), size_(size), err_(err) {}
    std::uint64_t size() const override { return size_; }
    bool failed() const { return err_ != 0; }
    int error() const { return err_; }
    std::string read(std::uint64_t offset, std::size_t max) const override;

private:
    Fd file_;
    std::uint64_t size_;
    int err_;
};

// A directory listing produced as it is read (DiskVfs::DirListing): its size is not known in
// advance (kUnknownSize); reads are sequential and an empty read is its end.
class DiskListingSource final : public proto::ContentSource {
public:
    static constexpr std::uint64_t kUnknownSize = std::numeric_limits<std::uint64_t>::max();
    explicit DiskListingSource(std::unique_ptr<DiskVfs::DirListing> listing) : listing_(std::move(listing)) {}
    std::uint64_t size() const override { return kUnknownSize; }
    std::string read(std::uint64_t offset, std::size_t max) const override;

private:
    mutable std::unique_ptr<DiskVfs::DirListing> listing_;
    mutable std::string pending_;    // produced, not yet read
    mutable std::uint64_t produced_ = 0;
    mutable bool done_ = false;
};

// An upload's bytes into the staging directory (UploadSpool); a write that fails keeps the
// system error for the session's reply (DiskVfs::set_error, "staging").
class DiskUploadSink final : public proto::ContentSink {
public:
    DiskUploadSink(DiskVfs& vfs, std::uint64_t owner) : vfs_(vfs), owner_(owner) {}
    bool write(std::string_view bytes) override;
    std::uint64_t size() const override { return spool_.size(); }
    const UploadSpool& spool() const { return spool_; }
    void finish() { spool_.close(); }  // stored: the staging file goes (its descriptor closed)

private:
    DiskVfs& vfs_;
    std::uint64_t owner_;
    UploadSpool spool_;
};

}  // namespace ftpsim::live

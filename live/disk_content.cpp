#include "live/disk_content.hpp"

#include <unistd.h>

#include <algorithm>
#include <cerrno>

namespace ftpsim::live {

std::string DiskFileSource::read(std::uint64_t offset, std::size_t max) const {
    if (offset >= size_ || !file_.valid()) return {};
    std::string out(static_cast<std::size_t>(std::min<std::uint64_t>(max, size_ - offset)), '\0');
    std::size_t got = 0;
    while (got < out.size()) {
        const ssize_t n = ::pread(file_.get(), out.data() + got, out.size() - got, static_cast<off_t>(offset + got));
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;  // the file shrank or failed: what was read is what is sent
        got += static_cast<std::size_t>(n);
    }
    out.resize(got);
    return out;
}

std::string DiskListingSource::read(std::uint64_t offset, std::size_t max) const {
    // Sequential: `offset` is where the previous read ended (bytes before it are gone).
    const std::uint64_t kept_from = produced_ - pending_.size();
    if (offset > kept_from) pending_.erase(0, static_cast<std::size_t>(std::min<std::uint64_t>(offset - kept_from, pending_.size())));
    while (pending_.empty() && !done_ && listing_) {  // a chunk of filtered names may be empty
        std::string chunk;
        done_ = !listing_->next(chunk, std::min<std::size_t>(max, 16 * 1024));
        produced_ += chunk.size();
        pending_ += chunk;
        if (done_) listing_.reset();
    }
    return pending_.substr(0, max);
}

bool DiskUploadSink::write(std::string_view bytes) {
    if (spool_.append(bytes.data(), bytes.size())) return true;
    vfs_.set_error(owner_, spool_.error(), "cannot write the upload's staging file in " + UploadSpool::staging_dir(),
                   true, "");
    return false;
}

}  // namespace ftpsim::live

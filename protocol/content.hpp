// File contents as the data path moves them (issue #22 item 2, #17 item 21): a session names
// the bytes to send with a ContentSource and where received bytes go with a ContentSink; the
// session host (host.hpp) streams them through the transport in chunks. Nothing here holds a
// file's bytes unless it was given them: a simulated file of 1e12 bytes is its size and a rule
// that produces any range of it on demand.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace ftpsim::proto {

// The bytes of a file (or a listing), read in chunks from any offset.
class ContentSource {
public:
    virtual ~ContentSource() = default;
    virtual std::uint64_t size() const = 0;
    // Up to `max` bytes from `offset`; fewer only at the end, none at or past it.
    virtual std::string read(std::uint64_t offset, std::size_t max) const = 0;
};

// Where received bytes go (a file being uploaded, a download's destination).
class ContentSink {
public:
    virtual ~ContentSink() = default;
    // Appends the bytes; false when they could not be stored (the sink's owner knows why).
    virtual bool write(std::string_view bytes) = 0;
    virtual std::uint64_t size() const = 0;  // bytes written so far
};

// Bytes given as a string: a scenario's `content:`, a listing, a small upload.
std::shared_ptr<const ContentSource> text_source(std::string bytes);
// The generated content of a scenario file without `content:`: lines "<path> line <n>\n",
// repeated up to `size` bytes; any range is computed without producing what precedes it.
std::shared_ptr<const ContentSource> generated_source(std::string abs_path, std::uint64_t size);
// What a simulated client uploads: 'a' + i % 26 at offset i.
std::shared_ptr<const ContentSource> upload_pattern_source(std::uint64_t size);
// `base` with `piece` written over it at `offset` (the file grows when it passes its end; a gap
// before `offset` reads as NUL bytes): STOR after REST, APPE.
std::shared_ptr<const ContentSource> spliced_source(std::shared_ptr<const ContentSource> base,
                                                    std::uint64_t offset,
                                                    std::shared_ptr<const ContentSource> piece);

// A sink that only counts (a simulated client's download; the bytes are already known).
std::shared_ptr<ContentSink> counting_sink();
// A sink that keeps what it is given, up to `limit` bytes (a listing the client shows); bytes
// past the limit are counted, not kept.
class TextSink final : public ContentSink {
public:
    explicit TextSink(std::size_t limit = SIZE_MAX) : limit_(limit) {}
    bool write(std::string_view bytes) override;
    std::uint64_t size() const override { return size_; }
    const std::string& text() const { return text_; }

private:
    std::size_t limit_;
    std::string text_;
    std::uint64_t size_ = 0;
};

}  // namespace ftpsim::proto

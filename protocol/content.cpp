#include "protocol/content.hpp"

#include <algorithm>
#include <charconv>

namespace ftpsim::proto {

namespace {

class TextSource final : public ContentSource {
public:
    explicit TextSource(std::string bytes) : bytes_(std::move(bytes)) {}
    std::uint64_t size() const override { return bytes_.size(); }
    std::string read(std::uint64_t offset, std::size_t max) const override {
        if (offset >= bytes_.size()) return {};
        return bytes_.substr(static_cast<std::size_t>(offset), max);
    }

private:
    std::string bytes_;
};

// Lines "<path> line <n>\n", n = 1, 2, ...: a line with a d-digit number is path + 7 + d bytes
// long, so the lines of each digit count form a block of equal lines and any offset is found
// by walking at most 20 blocks.
class GeneratedSource final : public ContentSource {
public:
    GeneratedSource(std::string path, std::uint64_t size) : path_(std::move(path)), size_(size) {}
    std::uint64_t size() const override { return size_; }
    std::string read(std::uint64_t offset, std::size_t max) const override {
        if (offset >= size_) return {};
        const std::uint64_t want = std::min<std::uint64_t>(max, size_ - offset);
        std::string out;
        out.reserve(static_cast<std::size_t>(want));
        // Find the line holding `offset`.
        std::uint64_t block_start = 0, first = 1;  // byte offset and number of the block's first line
        std::uint64_t digits = 1, count = 9;
        for (;;) {
            const std::uint64_t len = path_.size() + 7 + digits;
            // count * len may exceed 2^64 for the last blocks: compare by division.
            if ((offset - block_start) / len < count) break;
            block_start += count * len;
            first += count;
            ++digits;
            count = count > UINT64_MAX / 10 ? UINT64_MAX : count * 10;
        }
        const std::uint64_t len = path_.size() + 7 + digits;
        std::uint64_t line = first + (offset - block_start) / len;
        std::uint64_t skip = (offset - block_start) % len;
        // Whole lines are appended in place; only a line cut by the range's start or end is built
        // apart (a temporary string per line cost an allocation per 20-odd bytes served).
        std::string text;
        char num[24];
        while (out.size() < want) {
            const std::size_t num_len = static_cast<std::size_t>(std::to_chars(num, num + sizeof num, line++).ptr - num);
            const std::size_t line_len = path_.size() + 6 + num_len + 1;
            const std::size_t room = static_cast<std::size_t>(want) - out.size();
            if (skip == 0 && line_len <= room) {
                out.append(path_).append(" line ", 6).append(num, num_len).push_back('\n');
                continue;
            }
            text.assign(path_).append(" line ", 6).append(num, num_len).push_back('\n');
            const std::size_t take = std::min<std::size_t>(line_len - static_cast<std::size_t>(skip), room);
            out.append(text, static_cast<std::size_t>(skip), take);
            skip = 0;
        }
        return out;
    }

private:
    std::string path_;
    std::uint64_t size_;
};

class UploadPattern final : public ContentSource {
public:
    explicit UploadPattern(std::uint64_t size) : size_(size) {}
    std::uint64_t size() const override { return size_; }
    std::string read(std::uint64_t offset, std::size_t max) const override {
        if (offset >= size_) return {};
        std::string out(static_cast<std::size_t>(std::min<std::uint64_t>(max, size_ - offset)), '\0');
        for (std::size_t i = 0; i < out.size(); ++i) out[i] = static_cast<char>('a' + (offset + i) % 26);
        return out;
    }

private:
    std::uint64_t size_;
};

class SplicedSource final : public ContentSource {
public:
    SplicedSource(std::shared_ptr<const ContentSource> base, std::uint64_t offset,
                  std::shared_ptr<const ContentSource> piece)
        : base_(std::move(base)), offset_(offset), piece_(std::move(piece)) {
        const std::uint64_t base_size = base_ ? base_->size() : 0;
        size_ = std::max(base_size, offset_ + piece_->size());
    }
    std::uint64_t size() const override { return size_; }
    std::string read(std::uint64_t offset, std::size_t max) const override {
        std::string out;
        const std::uint64_t end = std::min<std::uint64_t>(size_, offset + max);
        const std::uint64_t piece_end = offset_ + piece_->size();
        while (offset < end) {
            std::string part;
            if (offset >= offset_ && offset < piece_end) {
                part = piece_->read(offset - offset_, static_cast<std::size_t>(std::min(end, piece_end) - offset));
            } else {
                const std::uint64_t stop = offset < offset_ ? std::min(end, offset_) : end;
                part = base_ ? base_->read(offset, static_cast<std::size_t>(stop - offset)) : std::string();
                part.resize(static_cast<std::size_t>(stop - offset), '\0');  // a gap reads as NUL
            }
            if (part.empty()) break;
            offset += part.size();
            out += part;
        }
        return out;
    }

private:
    std::shared_ptr<const ContentSource> base_;
    std::uint64_t offset_;
    std::shared_ptr<const ContentSource> piece_;
    std::uint64_t size_ = 0;
};

class CountingSink final : public ContentSink {
public:
    bool write(std::string_view bytes) override {
        size_ += bytes.size();
        return true;
    }
    std::uint64_t size() const override { return size_; }

private:
    std::uint64_t size_ = 0;
};

}  // namespace

std::shared_ptr<const ContentSource> text_source(std::string bytes) {
    return std::make_shared<TextSource>(std::move(bytes));
}

std::shared_ptr<const ContentSource> generated_source(std::string abs_path, std::uint64_t size) {
    return std::make_shared<GeneratedSource>(std::move(abs_path), size);
}

std::shared_ptr<const ContentSource> upload_pattern_source(std::uint64_t size) {
    return std::make_shared<UploadPattern>(size);
}

std::shared_ptr<const ContentSource> spliced_source(std::shared_ptr<const ContentSource> base, std::uint64_t offset,
                                                    std::shared_ptr<const ContentSource> piece) {
    return std::make_shared<SplicedSource>(std::move(base), offset, std::move(piece));
}

std::shared_ptr<ContentSink> counting_sink() { return std::make_shared<CountingSink>(); }

bool TextSink::write(std::string_view bytes) {
    size_ += bytes.size();
    if (text_.size() < limit_) text_.append(bytes.substr(0, limit_ - text_.size()));
    return true;
}

}  // namespace ftpsim::proto

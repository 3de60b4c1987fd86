#include "protocol/vfs.hpp"

#include <algorithm>
#include <cstdio>

namespace ftpsim::proto {

namespace {

std::string parent_of(std::string_view path) {
    auto slash = path.rfind('/');
    if (slash == 0 || slash == std::string_view::npos) return "/";
    return std::string(path.substr(0, slash));
}

std::string child_path(std::string_view dir, std::string_view name) {
    std::string out(dir);
    if (out.empty() || out.back() != '/') out += '/';
    out += name;
    return out;
}

struct Civil {
    int year, month, day, hour, minute, second;
};

// Howard Hinnant's days-from-civil inverse: UTC calendar fields without <ctime>'s global state.
Civil civil_from_unix(std::int64_t t) {
    std::int64_t days = t / 86400;
    std::int64_t secs = t % 86400;
    if (secs < 0) {
        secs += 86400;
        --days;
    }
    days += 719468;
    const std::int64_t era = (days >= 0 ? days : days - 146096) / 146097;
    const auto doe = static_cast<unsigned>(days - era * 146097);
    const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    const unsigned mp = (5 * doy + 2) / 153;
    const unsigned d = doy - (153 * mp + 2) / 5 + 1;
    const unsigned m = mp < 10 ? mp + 3 : mp - 9;
    const auto y = static_cast<int>(yoe + era * 400 + (m <= 2 ? 1 : 0));
    return {y, static_cast<int>(m), static_cast<int>(d), static_cast<int>(secs / 3600),
            static_cast<int>(secs % 3600 / 60), static_cast<int>(secs % 60)};
}

std::string pad_left(std::string s, std::size_t width) {
    if (s.size() < width) s.insert(0, width - s.size(), ' ');
    return s;
}

std::string pad_right(std::string s, std::size_t width) {
    if (s.size() < width) s.append(width - s.size(), ' ');
    return s;
}

// "Jan 01 00:00", or "Jan 01  2024" when the date is in the future or older than 182 days.
std::string ls_date(std::int64_t mtime, std::int64_t now) {
    static constexpr const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                              "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    const Civil c = civil_from_unix(mtime);
    char buf[32];
    if (mtime > now || now - mtime > 60LL * 60 * 24 * 182)
        std::snprintf(buf, sizeof buf, "%s %02d  %d", kMonths[c.month - 1], c.day, c.year);
    else
        std::snprintf(buf, sizeof buf, "%s %02d %02d:%02d", kMonths[c.month - 1], c.day, c.hour,
                      c.minute);
    return buf;
}

}  // namespace

Vfs::Vfs() { entries_["/"] = VfsEntry{true, 0, kDefaultMtime, nullptr}; }

void Vfs::add_dir(std::string_view path, std::int64_t mtime) {
    const std::string abs = resolve("/", path);
    if (abs != "/" && !find(parent_of(abs))) add_dir(parent_of(abs), mtime);
    entries_[abs] = VfsEntry{true, 0, mtime, nullptr};
}

void Vfs::add_file(std::string_view path, std::uint64_t size, std::int64_t mtime) {
    const std::string abs = resolve("/", path);
    if (!find(parent_of(abs))) add_dir(parent_of(abs), mtime);
    entries_[abs] = VfsEntry{false, size, mtime, nullptr};
}

void Vfs::put_file(std::string_view path, std::string content, std::int64_t mtime) {
    put_file(path, text_source(std::move(content)), mtime);
}

void Vfs::put_file(std::string_view path, std::shared_ptr<const ContentSource> content, std::int64_t mtime) {
    const std::string abs = resolve("/", path);
    if (!find(parent_of(abs))) add_dir(parent_of(abs), mtime);
    const auto size = content->size();
    entries_[abs] = VfsEntry{false, size, mtime, std::move(content)};
}

bool UploadSink::write(std::string_view bytes) {
    if (pattern_) {
        for (std::size_t i = 0; i < bytes.size(); ++i)
            if (bytes[i] != static_cast<char>('a' + (size_ + i) % 26)) {
                pattern_ = false;
                break;
            }
    }
    if (kept_.size() < keep_) kept_.append(bytes.substr(0, keep_ - kept_.size()));
    size_ += bytes.size();
    return true;
}

std::shared_ptr<const ContentSource> UploadSink::content(std::string_view abs_path) const {
    if (all_kept()) return text_source(kept_);
    if (pattern_) return upload_pattern_source(size_);
    return generated_source(std::string(abs_path), size_);
}

std::uint64_t Vfs::used() const {
    std::uint64_t sum = 0;
    for (const auto& [path, e] : entries_) sum += e.is_dir ? 0 : e.size;
    return sum;
}

bool Vfs::fits(std::string_view path, std::uint64_t new_size) const {
    if (backend_) return backend_->fits(path, new_size);
    if (!quota_) return true;
    const VfsEntry* e = find(path);
    const std::uint64_t old_size = (e && !e->is_dir) ? e->size : 0;
    return used() - old_size + new_size <= *quota_;
}

std::string Vfs::resolve(std::string_view cwd, std::string_view arg) {
    std::vector<std::string> parts;
    auto push_parts = [&parts](std::string_view p) {
        std::size_t i = 0;
        while (i <= p.size()) {
            auto j = p.find('/', i);
            if (j == std::string_view::npos) j = p.size();
            const auto seg = p.substr(i, j - i);
            if (seg == "..") {
                if (!parts.empty()) parts.pop_back();
            } else if (!seg.empty() && seg != ".") {
                parts.emplace_back(seg);
            }
            i = j + 1;
        }
    };
    if (arg.empty() || arg.front() != '/') push_parts(cwd);
    push_parts(arg);
    std::string out;
    for (const auto& p : parts) out += "/" + p;
    return out.empty() ? "/" : out;
}

std::string Vfs::base_name(std::string_view path) {
    auto slash = path.rfind('/');
    return std::string(slash == std::string_view::npos ? path : path.substr(slash + 1));
}

const VfsEntry* Vfs::find(std::string_view abs_path) const {
    if (backend_) return backend_->find(abs_path);
    auto it = entries_.find(abs_path);
    return it == entries_.end() ? nullptr : &it->second;
}

std::string Vfs::read(std::string_view abs_path, std::uint64_t offset) const {
    if (backend_) return backend_->read(abs_path, offset);
    const VfsEntry* e = find(abs_path);
    if (!e || e->is_dir || offset >= e->size) return {};
    return open_read(abs_path)->read(offset, static_cast<std::size_t>(e->size - offset));
}

std::shared_ptr<const ContentSource> Vfs::open_read(std::string_view abs_path) const {
    if (backend_) {
        const VfsEntry* e = backend_->find(abs_path);
        if (!e || e->is_dir) return nullptr;
        return text_source(backend_->read(abs_path, 0));
    }
    const VfsEntry* e = find(abs_path);
    if (!e || e->is_dir) return nullptr;
    if (e->content) return e->content;
    return generated_source(std::string(abs_path), e->size);
}

std::shared_ptr<UploadSink> Vfs::open_upload() const {
    return std::make_shared<UploadSink>(backend_ ? SIZE_MAX : UploadSink::kKeep);
}

std::vector<std::string> Vfs::children(std::string_view abs_dir) const {
    if (backend_) return backend_->children(abs_dir);
    std::vector<std::string> names;
    const std::string prefix = abs_dir == "/" ? "/" : std::string(abs_dir) + "/";
    for (auto it = entries_.lower_bound(prefix); it != entries_.end(); ++it) {
        const std::string& p = it->first;
        if (p.compare(0, prefix.size(), prefix) != 0) break;
        if (p.size() > prefix.size() && p.find('/', prefix.size()) == std::string::npos)
            names.push_back(p.substr(prefix.size()));
    }
    return names;
}

VfsStatus Vfs::mkdir(std::string_view abs_path, std::int64_t mtime) {
    if (backend_) return backend_->mkdir(abs_path);
    if (find(abs_path)) return VfsStatus::Exists;
    const VfsEntry* parent = find(parent_of(abs_path));
    if (!parent) return VfsStatus::NoParent;
    if (!parent->is_dir) return VfsStatus::NotDir;
    entries_[std::string(abs_path)] = VfsEntry{true, 0, mtime, nullptr};
    return VfsStatus::Ok;
}

VfsStatus Vfs::rmdir(std::string_view abs_path) {
    if (backend_) return backend_->rmdir(abs_path);
    const VfsEntry* e = find(abs_path);
    if (!e || abs_path == "/") return VfsStatus::NotFound;
    if (!e->is_dir) return VfsStatus::NotDir;
    if (!children(abs_path).empty()) return VfsStatus::NotEmpty;
    entries_.erase(entries_.find(abs_path));
    return VfsStatus::Ok;
}

VfsStatus Vfs::remove(std::string_view abs_path) {
    if (backend_) return backend_->remove(abs_path);
    const VfsEntry* e = find(abs_path);
    if (!e) return VfsStatus::NotFound;
    if (e->is_dir) return VfsStatus::IsDir;
    entries_.erase(entries_.find(abs_path));
    return VfsStatus::Ok;
}

VfsStatus Vfs::rename(std::string_view from, std::string_view to) {
    if (backend_) return backend_->rename(from, to);
    const VfsEntry* e = find(from);
    if (!e || from == "/") return VfsStatus::NotFound;
    if (!find(parent_of(to))) return VfsStatus::NoParent;
    if (const VfsEntry* target = find(to); target && target->is_dir) return VfsStatus::IsDir;
    // Move the entry and, for a directory, everything below it.
    const std::string from_s(from), to_s(to);
    std::vector<std::pair<std::string, VfsEntry>> moved;
    for (auto it = entries_.begin(); it != entries_.end();) {
        const bool below = it->first.size() > from_s.size() &&
                           it->first.compare(0, from_s.size() + 1, from_s + "/") == 0;
        if (it->first == from_s || below) {
            moved.emplace_back(to_s + it->first.substr(from_s.size()), it->second);
            it = entries_.erase(it);
        } else {
            ++it;
        }
    }
    for (auto& [p, entry] : moved) entries_[p] = std::move(entry);
    return VfsStatus::Ok;
}

VfsStatus Vfs::write(std::string_view abs_path, std::string_view data, WriteMode mode,
                     std::uint64_t offset, std::int64_t mtime) {
    if (backend_) return backend_->write(abs_path, data, mode, offset);
    UploadSink upload(data.size());
    upload.write(data);
    return store(abs_path, upload, mode, offset, mtime);
}

VfsStatus Vfs::store(std::string_view abs_path, const UploadSink& upload, WriteMode mode,
                     std::uint64_t offset, std::int64_t mtime) {
    if (backend_) return backend_->write(abs_path, upload.kept(), mode, offset);
    const VfsEntry* parent = find(parent_of(abs_path));
    if (!parent) return VfsStatus::NoParent;
    if (!parent->is_dir) return VfsStatus::NotDir;
    const VfsEntry* old = find(abs_path);
    if (old && old->is_dir) return VfsStatus::IsDir;
    std::shared_ptr<const ContentSource> content = upload.content(abs_path);
    if (old && mode != WriteMode::Replace) {
        // REST past the end pads with NUL bytes; APPE writes at the end.
        const std::uint64_t at = mode == WriteMode::At ? offset : old->size;
        content = spliced_source(open_read(abs_path), at, std::move(content));
    } else if (mode == WriteMode::At && offset > 0) {
        content = spliced_source(nullptr, offset, std::move(content));
    }
    if (!fits(abs_path, content->size())) return VfsStatus::QuotaExceeded;
    put_file(abs_path, std::move(content), mtime);
    return VfsStatus::Ok;
}

std::string Vfs::unique_name(std::string_view abs_base) const {
    if (!find(abs_base)) return std::string(abs_base);
    for (int i = 1;; ++i) {
        std::string candidate = std::string(abs_base) + "." + std::to_string(i);
        if (!find(candidate)) return candidate;
    }
}

std::string generated_content(std::string_view abs_path, std::uint64_t offset, std::uint64_t size) {
    return generated_source(std::string(abs_path), offset + size)->read(offset, static_cast<std::size_t>(size));
}

std::string ls_line(std::string_view name, const VfsEntry& e, const ListingStyle& style) {
    std::string line = e.is_dir ? "drwxr-xr-x " : "-rw-r--r-- ";
    line += pad_left(e.is_dir ? "2" : "1", static_cast<std::size_t>(style.nlink_width)) + " ";
    line += pad_right(style.owner, 8) + " ";
    line += pad_right(style.group, 8) + " ";
    line += pad_left(std::to_string(e.is_dir ? 4096 : e.size), 8) + " ";
    line += ls_date(e.mtime, style.now) + " ";
    line += name;
    line += "\r\n";
    return line;
}

std::string mdtm_time(std::int64_t unix_seconds) {
    const Civil c = civil_from_unix(unix_seconds);
    char buf[32];
    std::snprintf(buf, sizeof buf, "%04d%02d%02d%02d%02d%02d", c.year, c.month, c.day, c.hour,
                  c.minute, c.second);
    return buf;
}

std::string mlsd_line(std::string_view name, const VfsEntry& e) {
    std::string line = e.is_dir ? "type=dir;" : "type=file;size=" + std::to_string(e.size) + ";";
    line += "modify=" + mdtm_time(e.mtime) + "; ";
    line += name;
    line += "\r\n";
    return line;
}

std::string render_listing(const Vfs& vfs, std::string_view abs_path, ListingKind kind,
                           const ListingStyle& style) {
    const VfsEntry* e = vfs.find(abs_path);
    if (!e) return {};
    std::vector<std::pair<std::string, const VfsEntry*>> items;
    if (e->is_dir) {
        for (const auto& name : vfs.children(abs_path))
            items.emplace_back(name, vfs.find(child_path(abs_path, name)));
    } else {
        items.emplace_back(Vfs::base_name(abs_path), e);
    }
    std::string out;
    for (const auto& [name, entry] : items) {
        switch (kind) {
            case ListingKind::Long: out += ls_line(name, *entry, style); break;
            case ListingKind::NamesOnly: out += name + "\r\n"; break;
            case ListingKind::Mlsd: out += mlsd_line(name, *entry); break;
        }
    }
    return out;
}

}  // namespace ftpsim::proto

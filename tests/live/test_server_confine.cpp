// live/disk_vfs: a real directory behind the protocol core's Vfs, confined to its root
// (symbolic links included), with the session's path resolution on top (Vfs::resolve).
#include <doctest/doctest.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>

#include "live/disk_content.hpp"
#include "live/disk_vfs.hpp"
#include "live/server.hpp"
#include "protocol/vfs.hpp"

using namespace ftpsim;
namespace fs = std::filesystem;

namespace {

// A temporary tree:
//   outside/secret.txt                 (not served)
//   root/a.txt  root/dir/b.txt
//   decoy-etc/passwd                   (stands for /etc: the test never points at system files)
//   root/etc-link -> <base>/decoy-etc  (absolute, leaves the root)
//   root/up-link -> ../outside         (relative, climbs out)
//   root/secret-link -> ../outside/secret.txt
//   root/dir/inside-link -> ../a.txt   (stays inside)
//   root/dir-link -> dir               (a directory link inside)
//   root/dangling -> nowhere
//   root/fifo                          (a FIFO: hidden)
struct Tree {
    fs::path base;
    fs::path root;
    Tree() {
        char tmpl[] = "/tmp/ftpsim-confine-XXXXXX";
        base = ::mkdtemp(tmpl);
        root = base / "root";
        fs::create_directories(root / "dir");
        fs::create_directories(base / "outside");
        write(base / "outside" / "secret.txt", "secret\n");
        write(root / "a.txt", "hello a\n");
        write(root / "dir" / "b.txt", "hello b\n");
        fs::create_directories(base / "decoy-etc");
        write(base / "decoy-etc" / "passwd", "root:x:0:0::/root:/bin/sh\n");
        fs::create_directory_symlink(base / "decoy-etc", root / "etc-link");
        fs::create_directory_symlink("../outside", root / "up-link");
        fs::create_symlink("../outside/secret.txt", root / "secret-link");
        fs::create_symlink("../a.txt", root / "dir" / "inside-link");
        fs::create_directory_symlink("dir", root / "dir-link");
        fs::create_symlink("nowhere", root / "dangling");
        ::mkfifo((root / "fifo").c_str(), 0644);
    }
    ~Tree() { fs::remove_all(base); }
    static void write(const fs::path& p, const std::string& s) { std::ofstream(p) << s; }
    static std::string read(const fs::path& p) {
        std::ifstream in(p);
        return std::string(std::istreambuf_iterator<char>(in), {});
    }
};

// A file's bytes as the session host sends them: its source, pulled in chunks.
std::string stream_all(live::DiskVfs& d, const std::string& path, std::uint64_t offset = 0) {
    auto s = d.open_read(path);
    REQUIRE(s);
    std::string out;
    for (std::uint64_t at = offset; at < s->size();) {
        const std::string chunk = s->read(at, 3);
        if (chunk.empty()) break;
        out += chunk;
        at += chunk.size();
    }
    return out;
}

void check_confinement(live::DiskVfs& d) {
    // Inside: files, directories, links that stay inside.
    REQUIRE(d.find("/a.txt"));
    CHECK(d.find("/a.txt")->size == 8);
    CHECK_FALSE(d.find("/a.txt")->is_dir);
    REQUIRE(d.find("/dir"));
    CHECK(d.find("/dir")->is_dir);
    CHECK(d.find("/")->is_dir);
    // Leaving the root: an absolute link, a relative link climbing out, a link to a file outside.
    CHECK(d.find("/etc-link") == nullptr);
    CHECK(d.find("/etc-link/passwd") == nullptr);
    CHECK(d.find("/up-link/secret.txt") == nullptr);
    CHECK(d.find("/secret-link") == nullptr);
    CHECK(d.read("/secret-link", 0).empty());
    // Not a file or directory, or nothing at all.
    CHECK(d.find("/dangling") == nullptr);
    CHECK(d.find("/fifo") == nullptr);
    CHECK(d.find("/missing") == nullptr);
}

}  // namespace

TEST_CASE("disk vfs: paths stay inside the root and links leaving it are not found (openat2)") {
    Tree t;
    live::DiskVfs d(t.root.string());
    check_confinement(d);
    if (d.have_openat2()) {  // RESOLVE_BENEATH follows links that stay inside
        REQUIRE(d.find("/dir/inside-link"));
        CHECK(d.find("/dir/inside-link")->size == 8);
        REQUIRE(d.find("/dir-link/b.txt"));
        CHECK(stream_all(d, "/dir/inside-link") == "hello a\n");
    }
}

TEST_CASE("disk vfs: the component walk (kernels without openat2) refuses every link") {
    Tree t;
    live::DiskVfs d(t.root.string());
    d.force_component_walk();
    check_confinement(d);
    CHECK(d.find("/dir/inside-link") == nullptr);
    CHECK(d.find("/dir-link/b.txt") == nullptr);
    REQUIRE(d.find("/dir/b.txt"));
}

TEST_CASE("disk vfs: the session's resolution cannot climb above / (Vfs::resolve + the backend)") {
    Tree t;
    auto d = std::make_shared<live::DiskVfs>(t.root.string());
    proto::Vfs vfs;
    vfs.set_backend(d);
    // What a session computes for "RETR ../../outside/secret.txt" from /dir: "/outside/secret.txt",
    // which names root/outside (absent), never base/outside.
    const std::string p = proto::Vfs::resolve("/dir", "../../outside/secret.txt");
    CHECK(p == "/outside/secret.txt");
    CHECK(vfs.find(p) == nullptr);
    CHECK(vfs.find(proto::Vfs::resolve("/", "../../../etc/passwd")) == nullptr);
    // Even a raw ".." reaching the backend is refused (EXDEV), not resolved outside.
    CHECK(d->find("/../outside/secret.txt") == nullptr);
    CHECK(d->open_beneath("/../outside/secret.txt", O_RDONLY) == -1);
    // The listing shows only what resolves inside: no escaping or dangling links, no FIFO.
    const auto names = vfs.children("/");
    CHECK(names == std::vector<std::string>{"a.txt", "dir", "dir-link"});
    const std::string listing =
        proto::render_listing(vfs, "/", proto::ListingKind::NamesOnly, proto::ListingStyle{});
    CHECK(listing == "a.txt\r\ndir\r\ndir-link\r\n");
}

TEST_CASE("disk vfs: writes need writable, never follow a link, and stay inside") {
    Tree t;
    live::DiskVfs d(t.root.string());
    using proto::VfsStatus;
    using proto::WriteMode;
    CHECK(d.write("/new.txt", "x", WriteMode::Replace, 0) == VfsStatus::NotFound);  // read-only
    CHECK(d.mkdir("/newdir") == VfsStatus::NotFound);
    CHECK_FALSE(fs::exists(t.root / "new.txt"));
    d.writable = true;
    CHECK(d.write("/new.txt", "abc", WriteMode::Replace, 0) == VfsStatus::Ok);
    CHECK(d.write("/new.txt", "def", WriteMode::Append, 0) == VfsStatus::Ok);
    CHECK(d.write("/new.txt", "X", WriteMode::At, 1) == VfsStatus::Ok);
    CHECK(Tree::read(t.root / "new.txt") == "aXcdef");
    // Writing through a link: the secret outside stays untouched; a link's directory is refused.
    CHECK(d.write("/secret-link", "pwned", WriteMode::Replace, 0) != VfsStatus::Ok);
    CHECK(d.write("/up-link/secret.txt", "pwned", WriteMode::Replace, 0) != VfsStatus::Ok);
    CHECK(d.write("/etc-link/ftpsim-test", "pwned", WriteMode::Replace, 0) != VfsStatus::Ok);
    CHECK(Tree::read(t.base / "outside" / "secret.txt") == "secret\n");
    CHECK_FALSE(fs::exists(t.base / "decoy-etc" / "ftpsim-test"));
    // MKD, RNFR/RNTO, DELE, RMD on the disk; out of the root: refused.
    CHECK(d.mkdir("/newdir") == VfsStatus::Ok);
    CHECK(d.mkdir("/newdir") == VfsStatus::Exists);
    CHECK(d.mkdir("/up-link/x") == VfsStatus::NoParent);
    CHECK_FALSE(fs::exists(t.base / "outside" / "x"));
    CHECK(d.rename("/new.txt", "/newdir/moved.txt") == VfsStatus::Ok);
    CHECK(fs::exists(t.root / "newdir" / "moved.txt"));
    CHECK(d.rename("/newdir/moved.txt", "/up-link/stolen.txt") != VfsStatus::Ok);
    CHECK(d.rename("/secret-link", "/mine.txt") == VfsStatus::NotFound);
    CHECK(d.rmdir("/newdir") == VfsStatus::NotEmpty);
    CHECK(d.remove("/newdir") == VfsStatus::IsDir);
    CHECK(d.remove("/newdir/moved.txt") == VfsStatus::Ok);
    CHECK(d.rmdir("/newdir") == VfsStatus::Ok);
    CHECK(d.rmdir("/") == VfsStatus::NotFound);
    CHECK(d.remove("/etc-link/passwd") == VfsStatus::NotFound);
    CHECK(fs::exists(t.base / "decoy-etc" / "passwd"));
}

TEST_CASE("disk vfs: open_read gives a source that reads the file from any offset, in chunks") {
    Tree t;
    live::DiskVfs d(t.root.string());
    auto s = d.open_read("/dir/b.txt");
    REQUIRE(s);
    CHECK(s->size() == 8);
    CHECK(s->read(6, 100) == "b\n");
    CHECK(s->read(8, 100).empty());             // at the end: nothing to send
    CHECK(stream_all(d, "/dir/b.txt", 2) == "llo b\n");
    CHECK(d.read("/dir/b.txt", 6) == "b\n");    // Vfs::read: the bytes themselves
}

TEST_CASE("disk vfs: a root that is not a directory is a readable error") {
    Tree t;
    CHECK_THROWS_WITH_AS(live::DiskVfs((t.root / "a.txt").string()),
                         doctest::Contains("not a directory"), std::runtime_error);
    CHECK_THROWS_WITH_AS(live::DiskVfs((t.root / "missing").string()),
                         doctest::Contains("No such file"), std::runtime_error);
}

TEST_CASE("users file: NAME PASSWORD [rw|ro], errors name the file and line") {
    Tree t;
    const fs::path f = t.base / "users";
    Tree::write(f, "# comment\n\nalice secret\nbob pw ro\ncarol pw rw\n");
    std::map<std::string, live::UserEntry> users;
    REQUIRE_FALSE(live::read_users_file(f.string(), users));
    REQUIRE(users.size() == 3);
    CHECK(users["alice"].password == "secret");
    CHECK(users["alice"].writable);
    CHECK_FALSE(users["bob"].writable);
    CHECK(users["carol"].writable);
    Tree::write(f, "alice secret\nbob\n");
    users.clear();
    auto e = live::read_users_file(f.string(), users);
    REQUIRE(e);
    CHECK(*e == f.string() + ":2: expected \"NAME PASSWORD [rw|ro]\", got only a name");
    Tree::write(f, "alice secret rx\n");
    users.clear();
    e = live::read_users_file(f.string(), users);
    REQUIRE(e);
    CHECK(*e == f.string() + ":1: expected rw or ro after the password, got \"rx\"");
    users.clear();
    e = live::read_users_file((t.base / "nope").string(), users);
    REQUIRE(e);
    CHECK(e->find("cannot open the users file") != std::string::npos);
}

TEST_CASE("disk vfs: an upload through the backend's sink is stored atomically, and --max-transfer is a size limit") {
    Tree t;
    live::DiskVfs d(t.root.string());
    d.writable = true;
    d.current_owner = 3;
    using proto::VfsStatus;
    using proto::WriteMode;
    auto sink = d.open_upload();
    REQUIRE(sink);
    CHECK(sink->write("0123"));
    CHECK(sink->write("456789"));
    CHECK(sink->size() == 10);
    CHECK(d.store("/u.bin", *sink, WriteMode::Replace, 0) == VfsStatus::Ok);
    CHECK(Tree::read(t.root / "u.bin") == "0123456789");
    // Through the protocol core's Vfs, as the session stores it.
    proto::Vfs vfs;
    auto backend = std::make_shared<live::DiskVfs>(t.root.string());
    backend->writable = true;
    vfs.set_backend(backend);
    auto up = vfs.open_upload();
    CHECK(up->write("abcd"));
    CHECK(up->size() == 4);
    CHECK(vfs.store("/u.bin", *up, WriteMode::Append) == VfsStatus::Ok);
    CHECK(Tree::read(t.root / "u.bin") == "0123456789abcd");
    d.max_transfer = 10;
    CHECK(d.fits("/u.bin", 10));
    CHECK_FALSE(d.fits("/u.bin", 11));
}

// ---- #17: atomic uploads, no blocking opens, streamed listings -----------------------------

#include <signal.h>
#include <sys/resource.h>

#include <set>

namespace {

std::vector<std::string> upload_temporaries(const fs::path& dir) {
    std::vector<std::string> out;
    for (const auto& e : fs::directory_iterator(dir))
        if (e.path().filename().string().rfind(".ftpsim-upload-", 0) == 0) out.push_back(e.path().string());
    return out;
}

}  // namespace

TEST_CASE("disk vfs: a failed overwrite leaves the old file intact, removes its temporary and keeps the error") {
    Tree t;
    live::DiskVfs d(t.root.string());
    d.writable = true;
    d.current_owner = 5;
    using proto::VfsStatus;
    using proto::WriteMode;
    const std::string old_bytes(8192, 'k');
    Tree::write(t.root / "keep.bin", old_bytes);
    ::chmod((t.root / "keep.bin").c_str(), 0640);
    // A file size limit stands for a full disk: writes past it fail with EFBIG.
    const auto old_handler = ::signal(SIGXFSZ, SIG_IGN);
    rlimit saved{};
    REQUIRE(::getrlimit(RLIMIT_FSIZE, &saved) == 0);
    rlimit small = saved;
    small.rlim_cur = 16384;
    REQUIRE(::setrlimit(RLIMIT_FSIZE, &small) == 0);
    const VfsStatus st = d.write("/keep.bin", std::string(100000, 'n'), WriteMode::Replace, 0);
    const VfsStatus st_append = d.write("/keep.bin", std::string(10000, 'a'), WriteMode::Append, 0);
    const VfsStatus st_new = d.write("/new.bin", std::string(100000, 'n'), WriteMode::Replace, 0);
    ::setrlimit(RLIMIT_FSIZE, &saved);
    ::signal(SIGXFSZ, old_handler);
    CHECK(st == VfsStatus::QuotaExceeded);
    CHECK(st_append == VfsStatus::QuotaExceeded);
    CHECK(st_new == VfsStatus::QuotaExceeded);
    CHECK(Tree::read(t.root / "keep.bin") == old_bytes);          // untouched
    CHECK_FALSE(fs::exists(t.root / "new.bin"));                   // no partial new file
    CHECK(upload_temporaries(t.root).empty());                     // temporaries removed
    auto e = d.take_error(5);
    REQUIRE(e);
    CHECK(e->err == EFBIG);
    CHECK(e->name == "new.bin");
    CHECK_FALSE(e->staging);
    CHECK_FALSE(d.take_error(5));                                   // once
    // A successful overwrite is a rename: the permissions stay, no temporary is left.
    CHECK(d.write("/keep.bin", "fresh", WriteMode::Replace, 0) == VfsStatus::Ok);
    CHECK(Tree::read(t.root / "keep.bin") == "fresh");
    CHECK((fs::status(t.root / "keep.bin").permissions() & fs::perms::all) ==
          (fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_read));
    CHECK(upload_temporaries(t.root).empty());
}

TEST_CASE("disk vfs: STOR or APPE to a FIFO, socket or link is refused at once, never opened") {
    Tree t;  // root/fifo is a FIFO nobody reads: opening it for writing would block
    live::DiskVfs d(t.root.string());
    d.writable = true;
    using proto::VfsStatus;
    using proto::WriteMode;
    CHECK(d.write("/fifo", "x", WriteMode::Replace, 0) == VfsStatus::NotFound);
    CHECK(d.write("/fifo", "x", WriteMode::Append, 0) == VfsStatus::NotFound);
    CHECK(d.write("/fifo", "x", WriteMode::At, 3) == VfsStatus::NotFound);
    struct stat st{};
    REQUIRE(::lstat((t.root / "fifo").c_str(), &st) == 0);
    CHECK(S_ISFIFO(st.st_mode));                                    // still the FIFO
    CHECK(d.write("/dangling", "x", WriteMode::Replace, 0) == VfsStatus::NotFound);
    CHECK(fs::is_symlink(t.root / "dangling"));
    CHECK(upload_temporaries(t.root).empty());
    // A file that became a FIFO since the session looked is not streamed (and the open does
    // not block): a failed source, which the live server sends as a reset.
    fs::remove(t.root / "a.txt");
    ::mkfifo((t.root / "a.txt").c_str(), 0644);
    auto s = d.open_read("/a.txt");
    REQUIRE(s);
    const auto* f = dynamic_cast<const live::DiskFileSource*>(s.get());
    REQUIRE(f);
    CHECK(f->failed());
    CHECK(s->read(0, 10).empty());
}

TEST_CASE("disk vfs: a streamed listing reads the directory as it goes, every entry once") {
    Tree t;
    live::DiskVfs d(t.root.string());
    // A small directory: sorted, through the backend's listing source as the host pulls it.
    auto small = d.open_listing("/", proto::ListingKind::NamesOnly, proto::ListingStyle{});
    REQUIRE(small);
    CHECK(small->size() == live::DiskListingSource::kUnknownSize);
    std::string out;
    for (std::uint64_t at = 0;;) {
        const std::string chunk = small->read(at, 7);
        if (chunk.empty()) break;
        out += chunk;
        at += chunk.size();
    }
    CHECK(out == "a.txt\r\ndir\r\ndir-link\r\n");
    // A large directory: more than kSortedUpTo entries, in chunks of about 64 KiB.
    const fs::path big = t.root / "big";
    fs::create_directories(big);
    const std::size_t n = live::DiskVfs::kSortedUpTo + 1500;
    for (std::size_t i = 0; i < n; ++i) {
        std::string name = std::to_string(i);
        name.insert(name.begin(), 'f');
        std::ofstream(big / name);
    }
    auto big_l = d.list_dir("/big", proto::ListingKind::Long, proto::ListingStyle{});
    REQUIRE(big_l);
    std::set<std::string> seen;
    std::size_t chunks = 0, lines = 0;
    bool more = true;
    while (more) {
        std::string chunk;
        more = big_l->next(chunk, 65536);
        CHECK(chunk.size() < 65536 + 512);
        ++chunks;
        std::size_t pos = 0;
        while (pos < chunk.size()) {
            const std::size_t eol = chunk.find("\r\n", pos);
            const std::string l2 = chunk.substr(pos, eol - pos);
            seen.insert(l2.substr(l2.rfind(' ') + 1));
            ++lines;
            pos = eol + 2;
        }
    }
    CHECK(lines == n);
    CHECK(seen.size() == n);
    CHECK(chunks > 3);
    CHECK(big_l->entries() == n);
    // children() (STAT PATH, in memory) stops at its limit.
    CHECK(d.children("/big").size() <= live::DiskVfs::kChildrenLimit);
}

// ---- The data path's sources and sinks -------------------------------------------

namespace {

std::string drain(live::ByteSource& s) {
    std::string out;
    while (s.fill(out, 65536)) {}
    return out;
}

}  // namespace

TEST_CASE("disk vfs: open_file streams a regular file from its offset, and anything else is refused without blocking") {
    Tree t;
    live::DiskVfs d(t.root.string());
    auto f = d.open_file("/dir/b.txt", 6);
    REQUIRE(f);
    CHECK(f->remaining() == 2);
    CHECK(drain(*f) == "b\n");
    auto whole = d.open_file("/dir/inside-link", 0);  // a link that stays inside
    REQUIRE(whole);
    CHECK(drain(*whole) == "hello a\n");
    auto past = d.open_file("/a.txt", 100);  // past the end: nothing to send
    REQUIRE(past);
    CHECK(past->remaining() == 0);
    int err = 0;
    CHECK_FALSE(d.open_file("/fifo", 0, &err));  // a FIFO nobody writes: no blocking open
    CHECK(err == EINVAL);
    CHECK_FALSE(d.open_file("/dir", 0, &err));
    CHECK(err == EISDIR);
    CHECK_FALSE(d.open_file("/secret-link", 0, &err));  // leaves the root
    CHECK(err == ENOENT);
    CHECK_FALSE(d.open_file("/missing", 0, &err));
    CHECK(err == ENOENT);
}

TEST_CASE("disk vfs: an upload spooled to the staging directory is stored atomically in every write mode") {
    Tree t;
    live::DiskVfs d(t.root.string());
    d.writable = true;
    using proto::VfsStatus;
    using proto::WriteMode;
    auto spooled = [](const std::string& bytes) {
        auto s = std::make_unique<live::UploadSpool>();
        REQUIRE(s->append(bytes.data(), bytes.size()));
        CHECK(s->size() == bytes.size());
        return s;
    };
    CHECK(d.store("/u.bin", "", spooled("0123456789").get(), WriteMode::Replace, 0, 3) == VfsStatus::Ok);
    CHECK(Tree::read(t.root / "u.bin") == "0123456789");
    CHECK(d.store("/u.bin", "ab", spooled("cd").get(), WriteMode::Append, 0, 3) == VfsStatus::Ok);
    CHECK(Tree::read(t.root / "u.bin") == "0123456789abcd");
    CHECK(d.store("/u.bin", "", spooled("XY").get(), WriteMode::At, 3, 3) == VfsStatus::Ok);
    CHECK(Tree::read(t.root / "u.bin") == "012XY56789abcd");
    live::UploadSpool empty;  // nothing arrived: an empty file
    CHECK(d.store("/empty.bin", "", &empty, WriteMode::Replace, 0, 3) == VfsStatus::Ok);
    CHECK(fs::file_size(t.root / "empty.bin") == 0);
    CHECK(d.store("/fifo", "", spooled("x").get(), WriteMode::Replace, 0, 3) == VfsStatus::NotFound);
    d.writable = false;
    CHECK(d.store("/v.bin", "", spooled("zz").get(), WriteMode::Replace, 0, 3) == VfsStatus::NotFound);
    CHECK_FALSE(fs::exists(t.root / "v.bin"));
    CHECK(upload_temporaries(t.root).empty());
}

TEST_CASE("disk vfs: a staging directory that cannot hold the upload fails the spool with the system error") {
    const char* saved = std::getenv("TMPDIR");
    const std::string keep = saved ? saved : "";
    ::setenv("TMPDIR", "/nonexistent-ftpsim-staging", 1);
    live::UploadSpool s;
    CHECK_FALSE(s.append("abc", 3));
    CHECK(s.error() == ENOENT);
    CHECK_FALSE(s.append("abc", 3));  // stays failed
    if (saved) ::setenv("TMPDIR", keep.c_str(), 1);
    else ::unsetenv("TMPDIR");
}

TEST_CASE("disk vfs: open_listing reads a directory as a source, sorted when small") {
    Tree t;
    live::DiskVfs d(t.root.string());
    auto l = d.list_dir("/", proto::ListingKind::NamesOnly, proto::ListingStyle{});
    REQUIRE(l);
    CHECK(l->costly());
    CHECK(drain(*l) == "a.txt\r\ndir\r\ndir-link\r\n");
    auto missing = d.list_dir("/missing", proto::ListingKind::Long, proto::ListingStyle{});
    REQUIRE(missing);
    CHECK(drain(*missing).empty());
}

// ftpsim serve and ftpsim get|put|ls in one process, both on the session host (protocol/host.hpp)
// with live mode's poll loop as the transport: files move byte for byte in every data mode, file
// contents never reach a session, and a long-running server gives back what each transfer used
// (the staging file of every upload, every data connection's descriptor).
#include <doctest/doctest.h>

#include <dirent.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>
#include <thread>

#include "live/client.hpp"
#include "live/server.hpp"
#include "tests/support/files.hpp"

using namespace ftpsim;
using namespace ftpsim::live;
namespace fs = std::filesystem;

namespace {

std::size_t open_descriptors() {
    std::size_t n = 0;
    for ([[maybe_unused]] const auto& e : fs::directory_iterator("/proc/self/fd")) ++n;
    return n;
}

using ftpsim::testing::slurp;

// A writable server on 127.0.0.1 (any port) in its own thread.
struct Served {
    fs::path base, root;
    std::ostringstream log;
    std::unique_ptr<LiveServer> server;
    std::thread thread;
    std::uint16_t port = 0;
    Served() {
        char tmpl[] = "/tmp/ftpsim-livehost-XXXXXX";
        base = ::mkdtemp(tmpl);
        root = base / "root";
        fs::create_directories(root / "dir");
        ServeOptions o;
        o.listen = HostPort{IpAddress::v4(127, 0, 0, 1), 0};
        o.root = root.string();
        o.profile = "rfc959";  // SPSV too
        o.anonymous_writable = true;
        o.login_fail_delay_ns = 0;
        server = std::make_unique<LiveServer>(o, log);
        REQUIRE_FALSE(server->start());
        port = server->local().port;
        thread = std::thread([this] { server->run(); });
    }
    ~Served() {
        server->stop();
        thread.join();
        fs::remove_all(base);
    }
    ClientOutcome run(ClientOp op, const std::string& path, const std::string& local, const std::string& mode) {
        ClientArgs a;
        a.op = op;
        a.url = "ftp://127.0.0.1:" + std::to_string(port) + "/" + path;
        a.local = local;
        a.mode = mode;
        a.profile = "classic";
        a.timeout_s = 10;
        auto r = check_client_args(a);
        REQUIRE(std::holds_alternative<ClientRequest>(r));
        return run_client(std::get<ClientRequest>(r));
    }
};

}  // namespace

TEST_CASE("live host: put, get and ls through serve in every data mode, byte for byte") {
    Served s;
    std::string content;
    for (int i = 0; content.size() < 700 * 1024 + 3; ++i) content += "line " + std::to_string(i) + "\n";
    const fs::path up = s.base / "up.bin";
    std::ofstream(up, std::ios::binary) << content;
    for (const std::string mode : {"port", "eprt", "pasv", "epsv", "spsv"}) {
        CAPTURE(mode);
        auto put = s.run(ClientOp::Put, "dir/" + mode + ".bin", up.string(), mode);
        CHECK(put.exit_code == 0);
        CHECK(put.message == "");
        CHECK(put.bytes == content.size());
        CHECK(slurp(s.root / "dir" / (mode + ".bin")) == content);
        const fs::path down = s.base / (mode + ".down");
        auto get = s.run(ClientOp::Get, "dir/" + mode + ".bin", down.string(), mode);
        CHECK(get.exit_code == 0);
        CHECK(get.reply == 226);
        CHECK(get.bytes == content.size());
        CHECK(slurp(down) == content);
    }
    const fs::path listing = s.base / "ls.txt";
    auto ls = s.run(ClientOp::Ls, "dir/", listing.string(), "epsv");
    CHECK(ls.exit_code == 0);
    const std::string text = slurp(listing);
    for (const char* m : {"port.bin", "eprt.bin", "pasv.bin", "epsv.bin", "spsv.bin"}) CHECK(text.find(m) != std::string::npos);
    // No upload temporary left beside the files.
    for (const auto& e : fs::directory_iterator(s.root / "dir"))
        CHECK(e.path().filename().string().rfind(".ftpsim-upload-", 0) == std::string::npos);
}

TEST_CASE("live host: a long-running server gives back every transfer's descriptors (staging files included)") {
    Served s;
    const fs::path up = s.base / "small.bin";
    std::ofstream(up, std::ios::binary) << std::string(100 * 1024, 'x');
    // Warm up (the first session allocates what stays: the listener, the loop's own).
    REQUIRE(s.run(ClientOp::Put, "warm.bin", up.string(), "pasv").exit_code == 0);
    const std::size_t before = open_descriptors();
    for (int i = 0; i < 20; ++i) {
        REQUIRE(s.run(ClientOp::Put, "f" + std::to_string(i) + ".bin", up.string(), i % 2 ? "pasv" : "port").exit_code == 0);
        REQUIRE(s.run(ClientOp::Get, "f" + std::to_string(i) + ".bin", (s.base / "got.bin").string(), "epsv").exit_code == 0);
    }
    // A refused upload (no such directory) and an aborted one leave nothing behind either.
    CHECK(s.run(ClientOp::Put, "missing/dir/x.bin", up.string(), "pasv").exit_code == 1);
    // The server closes a data connection's descriptor once its FIN is acknowledged: give it a
    // moment.
    std::size_t after = open_descriptors();
    for (int i = 0; i < 50 && after > before; ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
        after = open_descriptors();
    }
    CHECK(after <= before);
}

TEST_CASE("live host: 500 sessions leave no entry in the server's connection and session maps") {
    Served s;
    const fs::path up = s.base / "small.bin";
    std::ofstream(up, std::ios::binary) << std::string(10 * 1024, 'x');
    REQUIRE(s.run(ClientOp::Put, "f.bin", up.string(), "pasv").exit_code == 0);
    // The count is sampled by the server's sweep (4 a second): wait for it to settle.
    auto settled = [&] {
        std::size_t n = s.server->tracked_entries();
        for (int i = 0; i < 100 && n > 0; ++i) {
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
            n = s.server->tracked_entries();
        }
        return n;
    };
    CHECK(settled() == 0);
    const char* modes[] = {"pasv", "port", "epsv", "eprt", "spsv"};
    for (int batch = 0; batch < 5; ++batch) {
        CAPTURE(batch);
        for (int i = 0; i < 100; ++i) {
            const std::string mode = modes[i % 5];
            ClientOutcome r;
            if (i % 3 == 0) r = s.run(ClientOp::Put, "u" + std::to_string(i % 7) + ".bin", up.string(), mode);
            else if (i % 3 == 1) r = s.run(ClientOp::Get, "f.bin", (s.base / "got.bin").string(), mode);
            else r = s.run(ClientOp::Ls, "", (s.base / "ls.txt").string(), mode);
            REQUIRE(r.exit_code == 0);
        }
        CHECK(settled() == 0);
    }
}

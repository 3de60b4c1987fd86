// The browser build in a real browser (issue #21): Debian's chromium, headless, loads the site
// (tools/build-web.sh, built by the fixture test "web: the site builds") from a local static
// server, and the page's URL runs a script in the app: open a NAT failure, apply its first fix,
// expect the outcome to turn ok. The screenshots the app takes at 1280x720 are checked as the
// native window test checks its own: the banner's colour and the data connection's pixels.
#include <doctest/doctest.h>

#include "tests/support/png.hpp"

#include <imgui.h>
#include <stb_image.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>

#include "viz/gui/theme.hpp"
#include "viz/gui/ui.hpp"

namespace fs = std::filesystem;
using namespace ftpsim;

namespace {

using ftpsim::testing::Png;

std::string read_text(const std::string& path) {
    std::ifstream in(path);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
}

// A static file server on loopback for the site (python3's http.server: no special headers).
struct Server {
    pid_t pid = -1;
    int port = 0;
    explicit Server(const std::string& dir) {
        for (int attempt = 0; attempt < 20 && pid < 0; ++attempt) {
            port = 20000 + static_cast<int>((getpid() * 7 + attempt * 101) % 20000);
            const pid_t p = fork();
            if (p == 0) {
                std::freopen("/dev/null", "w", stderr);
                std::freopen("/dev/null", "w", stdout);
                execlp("python3", "python3", "-m", "http.server", std::to_string(port).c_str(), "--bind", "127.0.0.1",
                       "--directory", dir.c_str(), static_cast<char*>(nullptr));
                _exit(127);
            }
            // ready when it answers; a taken port makes it exit at once
            for (int i = 0; i < 50; ++i) {
                std::this_thread::sleep_for(std::chrono::milliseconds(100));
                int st = 0;
                if (waitpid(p, &st, WNOHANG) == p) break;  // exited: try another port
                const std::string probe = "python3 -c \"import urllib.request,sys; urllib.request.urlopen('http://127.0.0.1:" +
                                          std::to_string(port) + "/index.html', timeout=2)\" 2>/dev/null";
                if (std::system(probe.c_str()) == 0) {
                    pid = p;
                    break;
                }
            }
        }
    }
    ~Server() {
        if (pid > 0) {
            kill(pid, SIGTERM);
            waitpid(pid, nullptr, 0);
        }
    }
};

std::string url_encode(const std::string& s) {
    std::string out;
    char buf[4];
    for (unsigned char c : s) {
        if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~' || c == '/') out += static_cast<char>(c);
        else {
            std::snprintf(buf, sizeof buf, "%%%02X", c);
            out += buf;
        }
    }
    return out;
}

// node run.mjs URL OUTDIR: the app's exit status; the page's console in `log`.
int run_page(const std::string& url, const std::string& outdir, std::string& log) {
    fs::create_directories(outdir);
    const std::string out = outdir + "/console.txt";
    const std::string cmd = "cd '" FTPSIM_SOURCE_DIR "/tests/web' && node run.mjs '" + url + "' '" + outdir + "' 1280x720 >'" +
                            out + "' 2>&1";
    const int rc = std::system(cmd.c_str());
    log = read_text(out);
    return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

}  // namespace

TEST_CASE("web: in headless Chromium, the first fix of a NAT failure turns the outcome ok, and the screenshots show it") {
    const std::string site = FTPSIM_WEB_SITE;
    REQUIRE_MESSAGE(fs::exists(site + "/index.html"), "no site at " << site << ": the fixture test 'web: the site builds' makes it");
    REQUIRE_MESSAGE(fs::exists(FTPSIM_SOURCE_DIR "/tests/web/node_modules/playwright-core"),
                    "playwright-core is missing: tools/install-deps.sh --test runs npm ci in tests/web");
    Server server(site);
    REQUIRE_MESSAGE(server.pid > 0, "python3 -m http.server did not start");
    const std::string outdir = (fs::temp_directory_path() / ("ftpsim-web-" + std::to_string(getpid()))).string();
    fs::create_directories(outdir);
    // curl behind a NAT without an FTP helper in active mode: vsftpd refuses the private PORT.
    const std::string script =
        "expect outcome failed; expect knob clients.client.mode=port; step 55; screenshot /failed.png;"
        "fix 1; expect outcome ok; step 55; screenshot /fixed.png; quit";
    const std::string url = "http://127.0.0.1:" + std::to_string(server.port) +
                            "/index.html?scenario=curl-vsftpd-cnat-off-active&size=1280x720&script=" + url_encode(script);
    std::string log;
    const int rc = run_page(url, outdir, log);
    INFO("page console:\n", log);
    REQUIRE(rc == 0);
    CHECK(log.find("expect outcome failed: yes") != std::string::npos);
    CHECK(log.find("expect outcome ok: yes") != std::string::npos);

    Png a, f;
    REQUIRE(a.load(outdir + "/failed.png"));
    REQUIRE(f.load(outdir + "/fixed.png"));
    CHECK(a.w == 1280);
    CHECK(a.h == 720);
    const auto& th = gui::theme(gui::ThemeKind::Light);
    const ImU32 red = gui::outcome_banner_colour(false, gui::ThemeKind::Light);
    const ImU32 green = gui::outcome_banner_colour(true, gui::ThemeKind::Light);
    // the outcome banner at the top left: red while it fails, green once the fix applied
    const int top = 60, left = 700;
    CHECK(a.count(red, 0, 0, left, top) > 1500);
    CHECK(a.count(green, 0, 0, left, top) == 0);
    CHECK(f.count(green, 0, 0, left, top) > 500);
    CHECK(f.count(red, 0, 0, left, top) == 0);
    // the ladder right of the side panel: no data connection while PORT is refused, the orange
    // data connection's arrows after the fix
    const std::size_t data_failed = a.count(th.data, 380, top, a.w, a.h - 150, 12);
    const std::size_t data_fixed = f.count(th.data, 380, top, f.w, f.h - 150, 12);
    MESSAGE("orange data-connection pixels: failed ", data_failed, ", fixed ", data_fixed);
    CHECK(data_fixed > 20 * (data_failed + 10));
    fs::remove_all(outdir);
}

TEST_CASE("web: a failed expect in the page's script ends the app with status 3 and says what it found") {
    const std::string site = FTPSIM_WEB_SITE;
    REQUIRE(fs::exists(site + "/index.html"));
    Server server(site);
    REQUIRE(server.pid > 0);
    const std::string outdir = (fs::temp_directory_path() / ("ftpsim-web-x-" + std::to_string(getpid()))).string();
    std::string log;
    const std::string url = "http://127.0.0.1:" + std::to_string(server.port) +
                            "/index.html?scenario=curl-vsftpd-cnat-off-active&size=1280x720&script=" +
                            url_encode("expect outcome ok; quit");
    CHECK(run_page(url, outdir, log) == 3);
    INFO("page console:\n", log);
    CHECK(log.find("expectation failed") != std::string::npos);
    fs::remove_all(outdir);
}

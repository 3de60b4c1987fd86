// Live client: URL parsing, argument checking, and the failures that need no FTP server.
#include <doctest/doctest.h>

#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <string>
#include <variant>

#include "live/client.hpp"
#include "live/client_url.hpp"
#include "live/sockets.hpp"

using namespace ftpsim::live;

namespace {

FtpUrl url_ok(std::string_view text) {
    auto r = parse_ftp_url(text);
    if (auto* e = std::get_if<UrlError>(&r)) FAIL("unexpected error: " << e->message);
    return std::get<FtpUrl>(r);
}

std::string url_error(std::string_view text) {
    auto r = parse_ftp_url(text);
    if (std::holds_alternative<FtpUrl>(r)) FAIL("expected an error for " << text);
    return std::get<UrlError>(r).message;
}

std::string arg_error(const ClientArgs& a) {
    auto r = check_client_args(a);
    if (std::holds_alternative<ClientRequest>(r)) FAIL("expected an error");
    return std::get<ArgError>(r).message;
}

ClientRequest request_ok(const ClientArgs& a) {
    auto r = check_client_args(a);
    if (auto* e = std::get_if<ArgError>(&r)) FAIL("unexpected error: " << e->message);
    return std::get<ClientRequest>(r);
}

}  // namespace

TEST_CASE("client URL: host forms, port, user, password, path") {
    auto u = url_ok("ftp://example.org/pub/file.bin");
    CHECK(u.host == "example.org");
    CHECK(u.port == 21);
    CHECK_FALSE(u.user);
    CHECK_FALSE(u.password);
    CHECK(u.path == "pub/file.bin");
    CHECK_FALSE(u.path_is_directory);
    CHECK(u.file_name() == "file.bin");

    u = url_ok("FTP://bob:s%40cret@127.0.0.1:2121/x");
    CHECK(u.host == "127.0.0.1");
    CHECK(u.port == 2121);
    CHECK(*u.user == "bob");
    CHECK(*u.password == "s@cret");
    CHECK(u.authority() == "127.0.0.1:2121");

    u = url_ok("ftp://[::1]:2121/");
    CHECK(u.host == "::1");
    CHECK(u.host_is_ipv6_literal);
    CHECK(u.authority() == "[::1]:2121");
    CHECK(u.path.empty());
    CHECK(u.path_is_directory);

    u = url_ok("ftp://[2001:db8::7]");
    CHECK(u.host == "2001:db8::7");
    CHECK(u.port == 21);
    CHECK(u.path_is_directory);

    u = url_ok("ftp://anonymous@host//srv/ftp/a%20b.txt");
    CHECK(*u.user == "anonymous");
    CHECK_FALSE(u.password);
    CHECK(u.path == "/srv/ftp/a b.txt");  // "//" = absolute, as curl reads it
    CHECK(u.file_name() == "a b.txt");

    u = url_ok("ftp://host/dir/sub/");
    CHECK(u.path == "dir/sub/");
    CHECK(u.path_is_directory);
    CHECK(u.file_name().empty());
}

TEST_CASE("client URL: malformed URLs say what is wrong") {
    CHECK(url_error("http://host/x").find("only ftp://") != std::string::npos);
    CHECK(url_error("host/x").find("no scheme") != std::string::npos);
    CHECK(url_error("ftp:///x").find("no host") != std::string::npos);
    CHECK(url_error("ftp://host:0/x").find("not in 1-65535") != std::string::npos);
    CHECK(url_error("ftp://host:65536/x").find("not in 1-65535") != std::string::npos);
    CHECK(url_error("ftp://host:21x/x").find("not a number") != std::string::npos);
    CHECK(url_error("ftp://host:/x").find("without a port") != std::string::npos);
    CHECK(url_error("ftp://::1/x").find("brackets") != std::string::npos);
    CHECK(url_error("ftp://[::1/x").find("without ']'") != std::string::npos);
    CHECK(url_error("ftp://[1.2.3.4]/x").find("not an IPv6 address") != std::string::npos);
    CHECK(url_error("ftp://ho st/x").find("space") != std::string::npos);
    CHECK(url_error("ftp://host/a%0d%0aDELE%20x").find("CR, LF or NUL") != std::string::npos);
    CHECK(url_error("ftp://host/a%zz").find("percent-encoding") != std::string::npos);
    CHECK(url_error("ftp://@host/x").find("empty user") != std::string::npos);
    CHECK(url_error("ftp://host/x?y").find("query") != std::string::npos);
    // Every message shows the URL and the expected form.
    const std::string m = url_error("ftp://host:99999/");
    CHECK(m.find("'ftp://host:99999/'") != std::string::npos);
    CHECK(m.find("ftp://[user[:password]@]host[:port][/path]") != std::string::npos);
}

TEST_CASE("client arguments: mode, profile, user, paths") {
    ClientArgs a;
    a.op = ClientOp::Get;
    a.url = "ftp://u:p@127.0.0.1:2121/dir/f.bin";
    auto r = request_ok(a);
    CHECK(r.remote_path == "dir/f.bin");
    CHECK(r.local == "f.bin");  // the URL's file name in the current folder
    CHECK(r.user == "u");
    CHECK(r.password == "p");
    CHECK(r.mode == ftpsim::proto::DataMode::Auto);
    CHECK(r.profile->name == "curl");
    CHECK(r.timeout_ns == 30'000'000'000);

    a.user = "alice";
    a.password = "pw";
    a.mode = "eprt";
    a.profile = "lftp";
    a.timeout_s = 1.5;
    r = request_ok(a);
    CHECK(r.user == "alice");
    CHECK(r.password == "pw");
    CHECK(r.mode == ftpsim::proto::DataMode::Eprt);
    CHECK(r.profile->name == "lftp");
    CHECK(r.timeout_ns == 1'500'000'000);

    a.mode = "active";
    CHECK(arg_error(a) == "--mode: unknown data connection mode 'active' (expected port, eprt, pasv, epsv or spsv)");
    a.mode = "epsv-all";  // a simulator mode, not offered live
    CHECK(arg_error(a).find("--mode") == 0);
    a.mode = "";
    a.profile = "wget";
    CHECK(arg_error(a).find("--profile: unknown client profile 'wget' (expected one of curl, ftplib") == 0);
    a.profile = "curl";
    a.timeout_s = 0;
    CHECK(arg_error(a).find("--timeout") == 0);
    a.timeout_s = 30;
    a.url = "ftp://127.0.0.1/dir/";
    CHECK(arg_error(a).find("names a directory") != std::string::npos);
    a.url = "ftp://127.0.0.1/f";
    a.local = "/nonexistent-folder-xyz/f";
    CHECK(arg_error(a).find("-o /nonexistent-folder-xyz/f: the folder /nonexistent-folder-xyz does not exist") == 0);
    a.local = "/tmp";
    CHECK(arg_error(a).find("is a directory") != std::string::npos);
    a.local = "";
    a.password = "x\r\nDELE f";
    CHECK(arg_error(a).find("CR or LF") != std::string::npos);

    ClientArgs ls;
    ls.op = ClientOp::Ls;
    ls.url = "ftp://127.0.0.1";
    r = request_ok(ls);
    CHECK(r.remote_path.empty());  // LIST without an argument
    CHECK(r.local == "-");
    CHECK(r.user == "anonymous");
    CHECK(r.password.empty());     // the profile's anonymous password
}

TEST_CASE("client arguments: put names an existing regular file") {
    const std::string file = "/tmp/ftpsim-test-client-put-" + std::to_string(::getpid()) + ".txt";
    {
        std::ofstream f(file);
        f << "hello";
    }
    ClientArgs a;
    a.op = ClientOp::Put;
    a.url = "ftp://127.0.0.1/incoming/";
    a.local = file;
    auto r = request_ok(a);
    CHECK(r.upload_size == 5);
    CHECK(r.remote_path == "incoming/" + file.substr(5));  // a folder URL gets the file's name
    a.url = "ftp://127.0.0.1/incoming/other.txt";
    CHECK(request_ok(a).remote_path == "incoming/other.txt");
    std::remove(file.c_str());
    CHECK(arg_error(a) == "FILE " + file + ": No such file or directory");
    a.local = "/tmp";
    CHECK(arg_error(a) == "FILE /tmp: not a regular file");
    a.local = "";
    CHECK(arg_error(a).find("expected the local FILE") != std::string::npos);
}

TEST_CASE("client: a refused control connection is a failure (exit 1) that names the address") {
    // A port that was just free: bind, read the port, close; nothing listens there now.
    auto l = listen_tcp(*ftpsim::proto::parse_ip("127.0.0.1"));
    REQUIRE(std::holds_alternative<Listener>(l));
    const auto port = std::get<Listener>(l).local.port;
    std::get<Listener>(l).fd.close();

    ClientArgs a;
    a.op = ClientOp::Ls;
    a.url = "ftp://127.0.0.1:" + std::to_string(port) + "/";
    a.timeout_s = 5;
    ClientOutcome out = run_client(request_ok(a));
    CHECK(out.exit_code == 1);
    CHECK(out.message.find("could not connect to 127.0.0.1:" + std::to_string(port)) == 0);
    CHECK(out.message.find("refused") != std::string::npos);
    CHECK(out.bytes == 0);
    CHECK_FALSE(out.trace.outcome.ok);
}

TEST_CASE("client: a server that accepts but never greets ends with the --timeout message") {
    // A listener that nobody accepts from: the kernel completes the handshake, no 220 comes.
    auto l = listen_tcp(*ftpsim::proto::parse_ip("127.0.0.1"));
    REQUIRE(std::holds_alternative<Listener>(l));
    const auto port = std::get<Listener>(l).local.port;

    ClientArgs a;
    a.op = ClientOp::Get;
    a.url = "ftp://127.0.0.1:" + std::to_string(port) + "/f.bin";
    a.local = "/tmp/ftpsim-test-client-timeout-" + std::to_string(::getpid()) + ".bin";
    a.timeout_s = 0.3;
    ClientOutcome out = run_client(request_ok(a));
    CHECK(out.exit_code == 1);
    CHECK(out.message == "timed out: nothing happened for 0.3 s (--timeout; the client was in state "
                         "AwaitGreeting, data NoData)");
    // No output file (nor its .part) is left behind.
    CHECK(::access(a.local.c_str(), F_OK) != 0);
    CHECK(::access((a.local + ".part").c_str(), F_OK) != 0);
}

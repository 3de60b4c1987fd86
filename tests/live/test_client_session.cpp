// Live client against a scripted fake server (a thread with blocking sockets on loopback): the
// orderings a quick real server produces, made deterministic.
#include <doctest/doctest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <fstream>
#include <functional>
#include <iterator>
#include <sstream>
#include <string>
#include <thread>
#include <variant>
#include <vector>

#include "live/client.hpp"

using namespace ftpsim::live;

namespace {

void send_all(int fd, const std::string& s) {
    std::size_t off = 0;
    while (off < s.size()) {
        ssize_t n = ::send(fd, s.data() + off, s.size() - off, MSG_NOSIGNAL);
        if (n <= 0) return;
        off += static_cast<std::size_t>(n);
    }
}

// One line without its CRLF; "" at EOF.
std::string read_line(int fd) {
    std::string line;
    char c;
    while (::recv(fd, &c, 1, 0) == 1) {
        line += c;
        if (line.size() >= 2 && line.compare(line.size() - 2, 2, "\r\n") == 0) {
            line.resize(line.size() - 2);
            return line;
        }
    }
    return {};
}

int connect_to(std::uint16_t port) {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
        ::close(fd);
        return -1;
    }
    return fd;
}

// A socket listening on loopback at an ephemeral port (`port` gets it), or -1.
int listen_loopback(int backlog, std::uint16_t& port) {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || ::listen(fd, backlog) != 0 ||
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
        ::close(fd);
        return -1;
    }
    port = ntohs(a.sin_port);
    return fd;
}

// The fake server's PASV: a listener on loopback, announced in a 227; returns the listener.
int answer_pasv(int control) {
    std::uint16_t p = 0;
    const int pasv = listen_loopback(1, p);
    send_all(control, "227 Entering Passive Mode (127,0,0,1," + std::to_string(p / 256) + "," +
                          std::to_string(p % 256) + ")\r\n");
    return pasv;
}

// The fake server's LIST after PASV: 150, the listing on the client's data connection, 226.
void answer_list(int control, int pasv, const std::string& listing) {
    int d = ::accept(pasv, nullptr, nullptr);
    send_all(control, "150 listing\r\n");
    send_all(d, listing);
    ::close(d);
    ::close(pasv);
    send_all(control, "226 done\r\n");
}

// A server for one session: `handle(fd)` runs on its thread with the accepted control socket.
class FakeServer {
public:
    explicit FakeServer(std::function<void(int)> handle) {
        lfd_ = listen_loopback(4, port_);
        REQUIRE(lfd_ >= 0);
        thread_ = std::thread([this, handle] {
            int fd = ::accept(lfd_, nullptr, nullptr);
            if (fd < 0) return;
            handle(fd);
            ::close(fd);
        });
    }
    ~FakeServer() {
        ::shutdown(lfd_, SHUT_RDWR);
        thread_.join();
        ::close(lfd_);
    }
    std::uint16_t port() const { return port_; }

private:
    int lfd_ = -1;
    std::uint16_t port_ = 0;
    std::thread thread_;
};

// "PORT 127,0,0,1,p1,p2" -> the port.
std::uint16_t port_of(const std::string& line) {
    std::vector<int> v;
    std::stringstream ss(line.substr(5));
    std::string n;
    while (std::getline(ss, n, ',')) v.push_back(std::stoi(n));
    return static_cast<std::uint16_t>(v.at(4) * 256 + v.at(5));
}

std::string read_file(const std::string& path) {
    std::ifstream f(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>()};
}

ClientRequest request(ClientArgs a) {
    auto r = check_client_args(a);
    REQUIRE(std::holds_alternative<ClientRequest>(r));
    return std::get<ClientRequest>(r);
}

}  // namespace

TEST_CASE("client: a server that opens the data connection, sends the file and closes before its 200 to "
          "PORT, then 150+226 in one segment: the file arrives whole") {
    const std::string content = "0123456789abcdef\r\nthe file\n";
    std::vector<std::string> seen;
    {
        FakeServer server([&](int fd) {
            send_all(fd, "220 fake\r\n");
            for (;;) {
                std::string line = read_line(fd);
                if (line.empty()) return;
                seen.push_back(line);
                if (line.rfind("USER", 0) == 0) send_all(fd, "331 pass\r\n");
                else if (line.rfind("PASS", 0) == 0) send_all(fd, "230 in\r\n");
                else if (line == "PWD") send_all(fd, "257 \"/\"\r\n");
                else if (line.rfind("TYPE", 0) == 0) send_all(fd, "200 type\r\n");
                else if (line.rfind("SIZE", 0) == 0) send_all(fd, "213 " + std::to_string(content.size()) + "\r\n");
                else if (line.rfind("PORT", 0) == 0) {
                    // Like pyftpdlib: the data connection is made (here: and used) at PORT time.
                    int d = connect_to(port_of(line));
                    send_all(d, content);
                    ::close(d);
                    ::usleep(20'000);  // the data and FIN reach the client before the reply
                    send_all(fd, "200 active\r\n");
                } else if (line.rfind("RETR", 0) == 0) {
                    send_all(fd, "150 here\r\n226 done\r\n");
                } else if (line == "QUIT") {
                    send_all(fd, "221 bye\r\n");
                    return;
                } else {
                    send_all(fd, "502 no\r\n");
                }
            }
        });
        ClientArgs a;
        a.op = ClientOp::Get;
        a.url = "ftp://127.0.0.1:" + std::to_string(server.port()) + "/f.txt";
        a.local = "/tmp/ftpsim-test-client-early-" + std::to_string(::getpid()) + ".txt";
        a.mode = "port";
        a.timeout_s = 10;
        ClientOutcome out = run_client(request(a));
        CHECK(out.exit_code == 0);
        CHECK(out.message.empty());
        CHECK(out.reply == 226);
        CHECK(out.bytes == content.size());
        CHECK(read_file(a.local) == content);
        REQUIRE(out.trace.outcome.transfers.size() == 1);
        CHECK(out.trace.outcome.transfers[0].bytes == content.size());
        CHECK(out.trace.outcome.ok);
        std::remove(a.local.c_str());
    }
    // curl's dialogue (the profile), with the data setup before TYPE and SIZE before RETR.
    REQUIRE(seen.size() == 8);
    CHECK(seen[0] == "USER anonymous");
    CHECK(seen[1] == "PASS ftp@example.com");
    CHECK(seen[2] == "PWD");
    CHECK(seen[3].rfind("PORT 127,0,0,1,", 0) == 0);
    CHECK(seen[4] == "TYPE I");
    CHECK(seen[5] == "SIZE f.txt");
    CHECK(seen[6] == "RETR f.txt");
    CHECK(seen[7] == "QUIT");
}

TEST_CASE("client: an upload is streamed from the file after the 150, then the data connection closes") {
    std::string file(300 * 1024 + 7, '\0');
    for (std::size_t i = 0; i < file.size(); ++i) file[i] = static_cast<char>((i * 7919) >> 3);
    const std::string local = "/tmp/ftpsim-test-client-up-" + std::to_string(::getpid()) + ".bin";
    {
        std::ofstream f(local, std::ios::binary);
        f << file;
    }
    std::string received;
    std::string stor;
    {
        FakeServer server([&](int fd) {
            send_all(fd, "220 fake\r\n");
            std::uint16_t data_port = 0;
            for (;;) {
                std::string line = read_line(fd);
                if (line.empty()) return;
                if (line.rfind("USER", 0) == 0) send_all(fd, "230 in\r\n");
                else if (line.rfind("PORT", 0) == 0) { data_port = port_of(line); send_all(fd, "200 ok\r\n"); }
                else if (line.rfind("STOR", 0) == 0) {
                    stor = line;
                    int d = connect_to(data_port);
                    send_all(fd, "150 send it\r\n");
                    char buf[4096];
                    ssize_t n;
                    while ((n = ::recv(d, buf, sizeof buf, 0)) > 0) received.append(buf, static_cast<std::size_t>(n));
                    ::close(d);
                    send_all(fd, "226 stored\r\n");
                } else if (line == "QUIT") { send_all(fd, "221 bye\r\n"); return; }
                else send_all(fd, "200 ok\r\n");
            }
        });
        ClientArgs a;
        a.op = ClientOp::Put;
        a.url = "ftp://127.0.0.1:" + std::to_string(server.port()) + "/in/";
        a.local = local;
        a.mode = "port";
        a.profile = "ftplib";
        a.timeout_s = 10;
        ClientOutcome out = run_client(request(a));
        CHECK(out.exit_code == 0);
        CHECK(out.reply == 226);
        CHECK(out.bytes == file.size());
        REQUIRE(out.trace.outcome.transfers.size() == 1);
        CHECK(out.trace.outcome.transfers[0].command == "STOR");
        CHECK(out.trace.outcome.transfers[0].bytes == file.size());
    }
    CHECK(stor == "STOR in/" + local.substr(5));
    CHECK(received == file);
    std::remove(local.c_str());
}

TEST_CASE("client: no reply to QUIT after a successful transfer is not a failure") {
    const std::string listing = "-rw-r--r-- 1 0 0 5 Jan 1 00:00 a\r\n";
    std::atomic<bool> quit_seen{false};
    FakeServer server([&](int fd) {
        send_all(fd, "220 fake\r\n");
        int pasv = -1;
        for (;;) {
            std::string line = read_line(fd);
            if (line.empty()) return;
            if (line.rfind("USER", 0) == 0) send_all(fd, "230 in\r\n");
            else if (line == "PASV") pasv = answer_pasv(fd);
            else if (line.rfind("LIST", 0) == 0) answer_list(fd, pasv, listing);
            else if (line == "QUIT") {
                quit_seen = true;  // and no 221: wait until the client gives up and closes
            } else {
                send_all(fd, "200 ok\r\n");
            }
        }
    });
    ClientArgs a;
    a.op = ClientOp::Ls;
    a.url = "ftp://127.0.0.1:" + std::to_string(server.port()) + "/";
    a.local = "/tmp/ftpsim-test-client-ls-" + std::to_string(::getpid()) + ".txt";
    a.mode = "pasv";
    a.profile = "ftplib";
    a.timeout_s = 0.3;
    ClientOutcome out = run_client(request(a));
    CHECK(quit_seen);
    CHECK(out.exit_code == 0);
    CHECK(out.reply == 226);
    CHECK(read_file(a.local) == listing);
    std::remove(a.local.c_str());
}

TEST_CASE("client: the default mode with curl is EPSV, and a refused EPSV falls back to PASV") {
    const std::string listing = "-rw-r--r-- 1 0 0 5 Jan 1 00:00 b\r\n";
    std::vector<std::string> seen;
    {
        FakeServer server([&](int fd) {
            send_all(fd, "220 fake\r\n");
            int pasv = -1;
            for (;;) {
                std::string line = read_line(fd);
                if (line.empty()) return;
                seen.push_back(line);
                if (line.rfind("USER", 0) == 0) send_all(fd, "230 in\r\n");
                else if (line == "EPSV") send_all(fd, "500 EPSV not understood\r\n");
                else if (line == "PASV") pasv = answer_pasv(fd);
                else if (line.rfind("LIST", 0) == 0) answer_list(fd, pasv, listing);
                else if (line == "QUIT") {
                    send_all(fd, "221 bye\r\n");
                    return;
                } else {
                    send_all(fd, "200 ok\r\n");
                }
            }
        });
        ClientArgs a;
        a.op = ClientOp::Ls;
        a.url = "ftp://127.0.0.1:" + std::to_string(server.port()) + "/pub";
        a.local = "/tmp/ftpsim-test-client-fallback-" + std::to_string(::getpid()) + ".txt";
        a.timeout_s = 10;
        ClientOutcome out = run_client(request(a));
        CHECK(out.exit_code == 0);
        CHECK(read_file(a.local) == listing);
        std::remove(a.local.c_str());
    }
    const std::vector<std::string> want = {"USER anonymous", "PWD", "EPSV", "PASV",  // 230 to USER: no PASS
                                           "TYPE A", "LIST pub", "QUIT"};
    std::string got;
    for (const auto& l : seen) got += l + " | ";
    INFO("commands: " << got);
    CHECK(seen == want);
}

TEST_CASE("client: a server that refuses the session in its greeting: exit 1 with that reply") {
    FakeServer server([](int fd) { send_all(fd, "421 There are too many connected users, please try later.\r\n"); });
    ClientArgs a;
    a.op = ClientOp::Get;
    a.url = "ftp://127.0.0.1:" + std::to_string(server.port()) + "/f.bin";
    a.local = "/tmp/ftpsim-test-client-421-" + std::to_string(::getpid()) + ".bin";
    a.timeout_s = 10;
    ClientOutcome out = run_client(request(a));
    CHECK(out.exit_code == 1);
    CHECK(out.message == "the transfer never started; the server's last reply: "
                         "421 There are too many connected users, please try later.");
    CHECK(::access(a.local.c_str(), F_OK) != 0);
}

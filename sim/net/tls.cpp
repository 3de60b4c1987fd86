#include "sim/net/tls.hpp"

#include <cctype>

namespace ftpsim::sim {
namespace {

constexpr unsigned char kMask = 0xA5;
constexpr std::size_t kHeader = 5;

std::string upper_verb(std::string_view line) {
    std::string v;
    for (char c : line) {
        if (c == ' ' || c == '\r' || c == '\n') break;
        v += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    }
    return v;
}

// Calls fn for every complete line added to `buf`.
template <class Fn>
void each_line(std::string& buf, std::string_view more, Fn fn) {
    buf += more;
    for (auto nl = buf.find('\n'); nl != std::string::npos; nl = buf.find('\n')) {
        fn(std::string_view(buf).substr(0, nl));
        buf.erase(0, nl + 1);
    }
}

}  // namespace

std::string TlsControlChannel::outgoing(std::string_view plain) {
    std::string wire;
    if (active_) {
        // One application-data record per write: type 23, version 3.3, 16-bit length.
        for (std::size_t off = 0; off < plain.size(); off += 16384) {
            std::string_view chunk = plain.substr(off, 16384);
            wire += static_cast<char>(0x17);
            wire += static_cast<char>(0x03);
            wire += static_cast<char>(0x03);
            wire += static_cast<char>(chunk.size() >> 8);
            wire += static_cast<char>(chunk.size() & 0xff);
            for (char c : chunk) wire += static_cast<char>(static_cast<unsigned char>(c) ^ kMask);
        }
    } else {
        wire.assign(plain);
    }
    watch_sent(plain);
    return wire;
}

std::string TlsControlChannel::incoming(std::string_view wire) {
    std::string plain;
    if (!active_ && records_.empty()) {
        plain.assign(wire);
    } else {
        records_ += wire;
        while (records_.size() >= kHeader) {
            std::size_t len = (static_cast<unsigned char>(records_[3]) << 8) | static_cast<unsigned char>(records_[4]);
            if (records_.size() < kHeader + len) break;
            for (std::size_t i = 0; i < len; ++i)
                plain += static_cast<char>(static_cast<unsigned char>(records_[kHeader + i]) ^ kMask);
            records_.erase(0, kHeader + len);
        }
    }
    watch_received(plain);
    return plain;
}

// The state changes on the server's reply: 234 to AUTH turns TLS on for everything after it; 200
// to CCC turns it off for everything after it (the 200 itself still travels protected).
void TlsControlChannel::watch_sent(std::string_view plain) {
    each_line(lines_out_, plain, [&](std::string_view line) {
        if (side_ == Side::Client) {
            last_command_ = upper_verb(line);
            return;
        }
        if (last_command_ == "AUTH" && line.substr(0, 4) == "234 ") active_ = true;
        if (last_command_ == "CCC" && line.substr(0, 4) == "200 ") active_ = false;
    });
}

void TlsControlChannel::watch_received(std::string_view plain) {
    each_line(lines_in_, plain, [&](std::string_view line) {
        if (side_ == Side::Server) {
            last_command_ = upper_verb(line);
            return;
        }
        if (last_command_ == "AUTH" && line.substr(0, 4) == "234 ") active_ = true;
        if (last_command_ == "CCC" && line.substr(0, 4) == "200 ") active_ = false;
    });
}

}  // namespace ftpsim::sim

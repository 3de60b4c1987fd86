#include "trace/ftp_line.hpp"

#include <cctype>

#include "protocol/codec.hpp"

namespace ftpsim::trace {
namespace {

Endpoint endpoint_of(const proto::HostPort& hp) { return {hp.addr.to_string(), hp.port}; }

bool is_digit(char c) { return c >= '0' && c <= '9'; }

}  // namespace

FtpLine parse_ftp_line(std::string_view line, bool command) {
    FtpLine l;
    l.command = command;
    l.line = std::string(line);
    if (command) {
        const auto sp = line.find(' ');
        const std::string_view verb = line.substr(0, sp);
        const std::string_view arg = sp == std::string_view::npos ? std::string_view{} : line.substr(sp + 1);
        for (char c : verb) l.verb += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
        if (l.verb == "PORT") {
            if (auto hp = proto::parse_port_arg(arg)) l.announce = Announce::Port, l.announced = endpoint_of(*hp);
        } else if (l.verb == "EPRT") {
            if (auto hp = proto::parse_eprt_arg(arg)) l.announce = Announce::Eprt, l.announced = endpoint_of(*hp);
        } else if (l.verb == "SOCK") {
            if (auto s = proto::parse_sock_arg(arg)) {
                l.announce = Announce::Sock;
                l.announced.addr = std::string(s->host);
                l.socket = s->socket;
            }
        }
        return l;
    }
    if (line.size() < 3 || !is_digit(line[0]) || !is_digit(line[1]) || !is_digit(line[2]) ||
        (line.size() > 3 && line[3] != ' ' && line[3] != '-')) {
        l.code = 0;  // a continuation line of a multi-line reply
        return l;
    }
    l.code = (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
    l.final_line = line.size() == 3 || line[3] == ' ';
    const std::string_view text = line.size() > 4 ? line.substr(4) : std::string_view{};
    if (!l.final_line) return l;
    if (l.code == 227) {
        if (auto hp = proto::parse_227_text(text)) l.announce = Announce::Pasv227, l.announced = endpoint_of(*hp);
        else if (proto::parse_spsv_227_text(text)) l.announce = Announce::Spsv;
    } else if (l.code == 229) {
        if (auto port = proto::parse_229_text(text)) l.announce = Announce::Epsv229, l.announced.port = *port;
    } else if (l.code == 255) {
        if (auto s = proto::parse_255_text(text)) l.announce = Announce::Reply255, l.socket = *s;
    }
    return l;
}

void FtpLineSplitter::feed(std::uint32_t seq, std::string_view payload, bool command, std::vector<FtpLine>& out) {
    if (payload.empty()) return;
    if (!started_) {
        started_ = true;
        next_ = seq;
    }
    const auto ahead = static_cast<std::int32_t>(seq - next_);
    if (ahead > 0) {  // a gap (not seen at a sender's first hop): start again after it
        partial_.clear();
    } else if (ahead < 0) {  // a retransmission: only the bytes not seen yet
        const auto skip = static_cast<std::size_t>(-static_cast<std::int64_t>(ahead));
        if (skip >= payload.size()) return;
        payload.remove_prefix(skip);
        seq += static_cast<std::uint32_t>(skip);
    }
    next_ = seq + static_cast<std::uint32_t>(payload.size());
    partial_.append(payload);
    std::size_t start = 0;
    for (auto nl = partial_.find('\n'); nl != std::string::npos; nl = partial_.find('\n', start)) {
        std::string_view line(partial_.data() + start, nl - start);
        if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
        out.push_back(parse_ftp_line(line, command));
        start = nl + 1;
    }
    partial_.erase(0, start);
    // A line longer than any server accepts is not a line: keep memory bounded.
    constexpr std::size_t kMaxLine = 64 * 1024;
    if (partial_.size() > kMaxLine) partial_.clear();
}

}  // namespace ftpsim::trace

// A control-connection line as a typed trace::FtpLine: the one parser the simulator's recorder,
// live mode's recorder and `ftpsim import` share, so every trace reads its lines alike.
#pragma once

#include <string>
#include <string_view>

#include "trace/trace.hpp"

namespace ftpsim::trace {

// `line` without its CRLF; `command` is true for a client -> server line. A reply line that
// does not start with three digits and a space or '-' is a continuation line (code 0).
FtpLine parse_ftp_line(std::string_view line, bool command);

// Splits a control connection's byte stream, one direction, into lines: feed each segment's
// bytes in sequence order; retransmitted bytes (seq before the next expected) are skipped.
class FtpLineSplitter {
public:
    // Appends the lines that `payload` (starting at TCP sequence number `seq`) completes.
    void feed(std::uint32_t seq, std::string_view payload, bool command, std::vector<FtpLine>& out);

private:
    bool started_ = false;
    std::uint32_t next_ = 0;
    std::string partial_;
};

}  // namespace ftpsim::trace

// FTPS on the wire (RFC 4217), as middleboxes see it: after "AUTH TLS" is answered with 234 the
// control connection carries TLS records until CCC is answered with 200. The simulation does not
// encrypt for real: it wraps each write in a TLS application-data record header and masks the
// bytes, which is enough for what matters here: a middlebox (the FTP ALG) cannot read PORT or
// 227 inside. The endpoints unwrap, so the sessions keep seeing plain FTP.
#pragma once

#include <string>
#include <string_view>

namespace ftpsim::sim {

class TlsControlChannel {
public:
    enum class Side { Client, Server };
    explicit TlsControlChannel(Side side) : side_(side) {}

    // Bytes the session writes -> bytes on the wire.
    std::string outgoing(std::string_view plain);
    // Bytes from the wire -> bytes for the session (whole records only; the rest waits).
    std::string incoming(std::string_view wire);
    bool active() const { return active_; }

private:
    void watch_sent(std::string_view plain);
    void watch_received(std::string_view plain);

    Side side_;
    bool active_ = false;
    std::string last_command_;  // the verb of the last command line seen (either direction)
    std::string records_;       // partial TLS records received
    std::string lines_in_, lines_out_;
};

}  // namespace ftpsim::sim

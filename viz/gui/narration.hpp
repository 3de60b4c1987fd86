// What a playback step means, told in one or two plain sentences in the lecture deck's words
// (control connection, data connection, active open, passive open, data port), and the steps a
// teacher jumps to (the next FTP line, the next middlebox decision, the first thing that went
// wrong). Rendered from the trace's fields and the diagram item of the step; the one function
// the typed trace fields (branch `typed`) will feed.
#pragma once

#include "trace/trace.hpp"
#include "viz/diagram.hpp"

#include <cstddef>
#include <string>
#include <vector>

namespace ftpsim::gui {

// The narration of diagram item `item` (the first item of a step). Empty for a bad index.
std::string narrate(const trace::Trace& t, const viz::Diagram& d, std::size_t item);

// A lane as a sentence names it: "the client (laptop)", "the home router", "the server".
std::string lane_phrase(const viz::Diagram& d, int lane);

// The FTP dialogue of a trace, in order: each command and reply line once (the first hop of its
// segment; or the FtpCommand/FtpReply events of a trace recorded without segments).
struct FtpLine {
    trace::TimeNs time_ns = 0;
    std::string from;   // the node that sent it
    std::string line;   // without CRLF
    bool reply = false;
};
std::vector<FtpLine> ftp_dialogue(const trace::Trace& t);

// Classification of an item for navigation and challenges.
bool is_ftp_line(const viz::Item& it);           // a control arrow carrying an FTP line
bool is_ftp_reply(const viz::Item& it);          // ... that is a reply ("227 ...")
bool is_middlebox_decision(const viz::Item& it); // a NAT / firewall / ALG decision box
// Something went wrong here: a packet dropped or refused, or a negative reply (4yz, 5yz).
bool went_wrong(const trace::Trace& t, const viz::Item& it);

}  // namespace ftpsim::gui

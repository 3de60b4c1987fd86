#include "sim/trace/trace.hpp"

#include <array>
#include <utility>

namespace ftpsim::trace {
namespace {
constexpr std::array<std::pair<EventKind, const char*>, 8> kKinds{{
    {EventKind::Segment, "segment"},
    {EventKind::FtpCommand, "ftp-command"},
    {EventKind::FtpReply, "ftp-reply"},
    {EventKind::DataBytes, "data-bytes"},
    {EventKind::Middlebox, "middlebox"},
    {EventKind::Socket, "socket"},
    {EventKind::Timer, "timer"},
    {EventKind::Note, "note"},
}};
constexpr std::array<std::pair<Verdict, const char*>, 4> kVerdicts{{
    {Verdict::None, "none"},
    {Verdict::Delivered, "delivered"},
    {Verdict::Dropped, "dropped"},
    {Verdict::Rejected, "rejected"},
}};
}  // namespace

const char* to_string(EventKind k) {
    for (auto& [v, s] : kKinds)
        if (v == k) return s;
    return "?";
}
const char* to_string(Verdict k) {
    for (auto& [v, s] : kVerdicts)
        if (v == k) return s;
    return "?";
}
bool parse_event_kind(const std::string& s, EventKind& out) {
    for (auto& [v, n] : kKinds)
        if (s == n) { out = v; return true; }
    return false;
}
bool parse_verdict(const std::string& s, Verdict& out) {
    for (auto& [v, n] : kVerdicts)
        if (s == n) { out = v; return true; }
    return false;
}

}  // namespace ftpsim::trace

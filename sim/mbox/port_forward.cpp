#include "sim/mbox/port_forward.hpp"

namespace ftpsim::mbox {

HostPort PortForward::target(std::uint16_t external_port) const {
    return {internal_addr, static_cast<std::uint16_t>(internal_lo + (external_port - external_lo))};
}

static std::string port_span(std::uint16_t lo, std::uint16_t hi) {
    return lo == hi ? std::to_string(lo) : std::to_string(lo) + "-" + std::to_string(hi);
}

std::string PortForward::to_string() const {
    auto internal_hi = static_cast<std::uint16_t>(internal_lo + (external_hi - external_lo));
    return "tcp " + port_span(external_lo, external_hi) + " -> " + internal_addr.to_string() + ":" +
           port_span(internal_lo, internal_hi);
}

const PortForward* PortForwarder::match(std::uint16_t port) {
    for (auto& f : forwards_) {
        if (!f.covers(port)) continue;
        ++f.hits;
        return &f;
    }
    return nullptr;
}

}  // namespace ftpsim::mbox

// Tests check what a middlebox decided through its notes' typed fields (trace::Event: fact,
// entry, endpoints, ports, state...), never by searching the rendered sentence.
#pragma once

#include <string>
#include <vector>

#include "sim/mbox/note.hpp"
#include "sim/mbox/router.hpp"

namespace ftpsim::mbox::test {

// The first note whose fact is `f`; nullptr when there is none.
inline const trace::Event* fact_of(const std::vector<MiddleboxNote>& notes, trace::Fact f) {
    for (const auto& n : notes)
        if (n.fact.fact == f) return &n.fact;
    return nullptr;
}
inline const trace::Event* fact_of(const RouterResult& r, trace::Fact f) { return fact_of(r.notes, f); }

// "192.168.1.10:50069" as the trace's endpoint.
inline trace::Endpoint tep(const char* text) {
    const HostPort hp = *parse_endpoint(text);
    return {hp.addr.to_string(), hp.port};
}

}  // namespace ftpsim::mbox::test

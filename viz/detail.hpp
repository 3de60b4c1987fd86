// Helpers the text-based exporters (PlantUML, Mermaid, mscgen) share. Not part of the API.
#pragma once

#include <span>
#include <string>
#include <string_view>

#include "viz/diagram.hpp"

namespace ftpsim::viz::detail {

// "1120 → 21" (or "1120 -> 21" when ascii), "" when neither end has a port.
std::string port_pair(const Item& it, bool ascii);

// The whole caption of an arrow: label, " (rejected)", ports, and "received as" when a middlebox
// changed the line on the way.
std::string arrow_caption(const Item& it, bool ascii);

// The colours every renderer uses: an arrow's by class (control blue, data orange, other grey)
// and a note's fill by kind.
const char* arrow_colour(const Item& it);
const char* note_fill(NoteKind k);

// Lane i's identifier in the text formats: "L0", "L1", ...
std::string lane_id(int i);

// One character a text format cannot take as it is, and what it writes instead ("" drops it).
struct Escape {
    char c;
    std::string_view with;
};

// `s` for a text format's label: each character in `table` replaced, any other control character
// (a line break the format has no escape for, a tab, NUL) a space, the rest as it is.
std::string escape_text(std::string_view s, std::span<const Escape> table);

}  // namespace ftpsim::viz::detail

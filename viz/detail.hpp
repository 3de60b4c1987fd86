// Helpers the text-based exporters (PlantUML, Mermaid, mscgen) share. Not part of the API.
#pragma once

#include <string>

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

}  // namespace ftpsim::viz::detail

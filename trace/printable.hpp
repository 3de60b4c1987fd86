// Text from outside ftpsim (a scenario's value, a file name, a command-line argument, a line from
// a capture or a peer) made safe to print in a diagnostic on a terminal.
#pragma once

#include <string>
#include <string_view>

namespace ftpsim::trace {

// `text` with every byte or character that a terminal would act on, or that is not text, shown
// as an escape, so that printing it cannot move the cursor, change colours, set the window title
// or cut the message:
//   - C0 controls 0x00-0x1f (tab and line feed included) and DEL 0x7f: \xNN ("\x1b", "\x0a");
//   - a byte that does not start or continue valid UTF-8 (a raw C1 byte 0x80-0x9f, Latin-1, a
//     truncated, overlong or surrogate sequence): \xNN, and the next byte is looked at anew;
//   - the C1 controls U+0080-U+009F written in UTF-8, the line and paragraph separators
//     U+2028/U+2029 and the bidirectional controls (U+200E, U+200F, U+202A-U+202E,
//     U+2066-U+2069, which reorder what follows them on screen): \uNNNN.
// Valid printable UTF-8 ("café", "→") and the backslash are kept as they are. The result holds
// only printable characters, so escaping it again changes nothing.
std::string escape_unprintable(std::string_view text);

}  // namespace ftpsim::trace

// Transition tables as data (h11's _state.py) and the Mermaid state diagrams the docs draw from
// them. The server's two tables (server_states.hpp) and the client's two (client.hpp) are looked
// up and drawn by this one code, so every machine follows the same rule (a step the table does not
// hold is illegal) and every diagram has the same form.
#pragma once

#include <string>
#include <string_view>

namespace ftpsim::proto {

// One legal step: in `from`, `event` leads to `to`.
template <typename State, typename Event>
struct Transition {
    State from;
    Event event;
    State to;
};

// The row of `table` for (from, event), or nullptr when the table does not allow `event` in
// `from` (the caller keeps its state). A row is anything with `from`, `event` and `to`.
template <typename Table, typename State, typename Event>
const typename Table::value_type* find_transition(const Table& table, State from, Event event) {
    for (const auto& row : table)
        if (row.from == from && row.event == event) return &row;
    return nullptr;
}

// A Mermaid stateDiagram-v2, written statement by statement, four spaces of indent a level:
//
//   MermaidStateDiagram d;
//   d.entry("Idle", "session start").rows(kTable).exit("Closed");
//   d.text();
//
// rows() draws one arrow a table row with the states' and the event's to_string(); a composite
// state (one box a machine, as docs/client.md draws the client) is open() ... close().
class MermaidStateDiagram {
public:
    // "[*] --> state", with " : label" when there is one.
    MermaidStateDiagram& entry(std::string_view state, std::string_view label = {});
    // "state --> [*]".
    MermaidStateDiagram& exit(std::string_view state);
    // "from --> to : label".
    MermaidStateDiagram& arrow(std::string_view from, std::string_view to, std::string_view label);

    // An arrow a row of `table`, labelled with `label(row)` (anything a string_view takes).
    template <typename Table, typename Label>
    MermaidStateDiagram& rows(const Table& table, Label label) {
        for (const auto& row : table) arrow(to_string(row.from), to_string(row.to), label(row));
        return *this;
    }
    // An arrow a row of `table`, labelled with the event's name.
    template <typename Table>
    MermaidStateDiagram& rows(const Table& table) {
        return rows(table, [](const auto& row) { return std::string_view(to_string(row.event)); });
    }

    // "state "title" as id {": what follows, until close(), is drawn inside the box.
    MermaidStateDiagram& open(std::string_view id, std::string_view title);
    MermaidStateDiagram& close();

    const std::string& text() const { return out_; }

private:
    void indent();

    std::string out_ = "stateDiagram-v2\n";
    int depth_ = 1;
};

}  // namespace ftpsim::proto

#include "protocol/state_table.hpp"

namespace ftpsim::proto {

void MermaidStateDiagram::indent() { out_.append(static_cast<std::size_t>(depth_) * 4, ' '); }

MermaidStateDiagram& MermaidStateDiagram::entry(std::string_view state, std::string_view label) {
    indent();
    out_ += "[*] --> ";
    out_ += state;
    if (!label.empty()) {
        out_ += " : ";
        out_ += label;
    }
    out_ += '\n';
    return *this;
}

MermaidStateDiagram& MermaidStateDiagram::exit(std::string_view state) {
    indent();
    out_ += state;
    out_ += " --> [*]\n";
    return *this;
}

MermaidStateDiagram& MermaidStateDiagram::arrow(std::string_view from, std::string_view to,
                                                std::string_view label) {
    indent();
    out_ += from;
    out_ += " --> ";
    out_ += to;
    out_ += " : ";
    out_ += label;
    out_ += '\n';
    return *this;
}

MermaidStateDiagram& MermaidStateDiagram::open(std::string_view id, std::string_view title) {
    indent();
    out_ += "state \"";
    out_ += title;
    out_ += "\" as ";
    out_ += id;
    out_ += " {\n";
    ++depth_;
    return *this;
}

MermaidStateDiagram& MermaidStateDiagram::close() {
    --depth_;
    indent();
    out_ += "}\n";
    return *this;
}

}  // namespace ftpsim::proto

// The ladder as a self-contained SVG: no external fonts, images or stylesheets; sized for a
// projector (large text), in the style of the lecture's figures.
#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <iterator>

#include <fmt/format.h>

#include "viz/detail.hpp"
#include "viz/export.hpp"

#include "protocol/reply_codes.hpp"

namespace ftpsim::viz {
namespace {

constexpr const char* kFont = "DejaVu Sans, Verdana, Arial, sans-serif";
constexpr const char* kControl = "#1c5bbf";
constexpr const char* kData = "#d9480f";
constexpr const char* kOther = "#495057";
constexpr const char* kRed = "#d62828";

using Buf = fmt::memory_buffer;

// A coordinate with one decimal, written with integer arithmetic: fmt's "{:.1f}" takes the slow
// exact path for every value, which dominated the export of large traces.
struct D1 {
    double v;
};

// Text as XML character data or an attribute value.
void esc(Buf& b, std::string_view s) {
    for (char c : s) switch (c) {
        case '&': b.append(std::string_view("&amp;")); break;
        case '<': b.append(std::string_view("&lt;")); break;
        case '>': b.append(std::string_view("&gt;")); break;
        case '"': b.append(std::string_view("&quot;")); break;
        default:
            // Control characters are not allowed in XML 1.0.
            if (static_cast<unsigned char>(c) < 0x20 && c != '\t') b.push_back(' ');
            else b.push_back(c);
        }
}

// DejaVu Sans averages about 0.6 em per character in these labels.
double text_width(std::string_view s, double size) {
    std::size_t chars = 0;
    for (unsigned char c : s) chars += (c & 0xC0) != 0x80;  // count UTF-8 code points
    return static_cast<double>(chars) * size * 0.6;
}

// 0 control, 1 data, 2 neither (the classes a0/f0 ... in the SVG's style sheet).
int colour_index(const Item& it) {
    if (it.purpose == Purpose::Data || it.style == Style::Data) return 1;
    if (it.purpose == Purpose::Control || it.style == Style::Control) return 0;
    return 2;
}

struct NoteLook { const char* fill; const char* stroke; const char* style; };
NoteLook note_look(NoteKind k) {
    const char* fill = detail::note_fill(k);
    switch (k) {
    case NoteKind::Middlebox: return {fill, "#d4a106", "normal"};
    case NoteKind::Socket: return {fill, "#7a9cc6", "normal"};
    case NoteKind::Timer: return {fill, "#9b6fc9", "normal"};
    case NoteKind::Note: return {fill, "#868e96", "italic"};
    }
    return {fill, "#000000", "normal"};
}

std::vector<std::string_view> lines_of(std::string_view s) {
    std::vector<std::string_view> out;
    std::size_t start = 0;
    while (true) {
        const auto eol = s.find('\n', start);
        out.push_back(s.substr(start, eol == std::string_view::npos ? std::string_view::npos : eol - start));
        if (eol == std::string_view::npos) break;
        start = eol + 1;
    }
    return out;
}

// Remembers the text boxes drawn lately so a new label can move to a free spot. Items come in y
// order, so only boxes near the current y are kept: the cost stays linear in the trace.
struct Rect { double x0, y0, x1, y1; std::uint64_t tag = 0; };
class Placer {
public:
    void forget_above(double y) {
        std::erase_if(boxes_, [y](const Rect& r) { return r.y1 < y; });
    }
    bool free(const Rect& r) const {
        for (const Rect& o : boxes_)
            if (r.x0 < o.x1 && o.x0 < r.x1 && r.y0 < o.y1 && o.y0 < r.y1) return false;
        return true;
    }
    // Whether the same port number (tag) is already written at this spot.
    bool repeats(const Rect& r) const {
        for (const Rect& o : boxes_)
            if (o.tag == r.tag && r.tag && r.x0 < o.x1 && o.x0 < r.x1 && r.y0 < o.y1 && o.y0 < r.y1) return true;
        return false;
    }
    void add(const Rect& r) { boxes_.push_back(r); }
private:
    std::vector<Rect> boxes_;
};

}  // namespace
}  // namespace ftpsim::viz

template <>
struct fmt::formatter<ftpsim::viz::D1> {
    constexpr auto parse(format_parse_context& ctx) { return ctx.begin(); }
    template <class Ctx>
    auto format(ftpsim::viz::D1 d, Ctx& ctx) const {
        const long long tenths = std::llround(d.v * 10);
        const unsigned long long a = static_cast<unsigned long long>(tenths < 0 ? -tenths : tenths);
        auto it = ctx.out();
        if (tenths < 0) *it++ = '-';
        const fmt::format_int whole(a / 10);
        it = std::copy(whole.data(), whole.data() + whole.size(), it);
        if (a % 10) {
            *it++ = '.';
            *it++ = static_cast<char>('0' + a % 10);
        }
        return it;
    }
};

namespace ftpsim::viz {

std::string to_svg(const Diagram& d, const SvgOptions& o) {
    const double fs = o.font_size;
    const double port_fs = std::round(fs * 0.78);
    const double head_fs = std::round(fs * 1.2);
    const double note_fs = std::round(fs * 0.88);
    const double line_h = d.options.note_line_height;
    const int lanes = static_cast<int>(d.lanes.size());

    // Lane spacing: the widest label between two adjacent lanes plus room for the port numbers.
    double need = 0;
    for (const Item& it : d.items)
        if (it.kind == ItemKind::Arrow) {
            const double span = std::max(1.0, std::abs(it.to_pos - it.from_pos));
            double w = text_width(it.label, fs);
            if (!it.label_after.empty()) w = std::max(w, text_width(it.label_after, fs * 0.85) + 40);
            need = std::max(need, (w + 2 * port_fs * 3.6 + 30) / span);
        }
    double header_w = 0;
    for (const Lane& l : d.lanes)
        header_w = std::max({header_w, text_width(l.name, head_fs) + 30, text_width(lane_address(l), fs * 0.9) + 30});
    const double gap = std::clamp(std::max(need, header_w + 24), o.lane_gap_min, o.lane_gap_max);
    const double axis_w = o.time_axis ? 118 : 20;
    const double x0 = axis_w + std::max(header_w / 2, 60.0);
    auto X = [&](double pos) { return x0 + pos * gap; };

    // A note's left edge. Drawn to scale, a note on an outer lane goes outside it, away from the
    // arrows in flight at the same time; otherwise it is centred on its lane(s).
    const bool to_scale = d.options.time == TimeScale::ToScale;
    auto note_x = [&](const Item& it, double w) {
        if (to_scale && it.lane_lo == it.lane_hi && lanes > 1) {
            if (it.lane_lo == 0) return X(0) - 14 - w;
            if (it.lane_lo == lanes - 1) return X(lanes - 1) + 14;
        }
        return (X(it.lane_lo) + X(it.lane_hi)) / 2 - w / 2;
    };
    auto note_w = [&](const Item& it) {
        double w = 0;
        for (auto l : lines_of(it.text)) w = std::max(w, text_width(l, note_fs));
        return w + 24;
    };
    // Notes may reach beyond the outer lanes: make room for them.
    double right = X(std::max(0, lanes - 1)) + header_w / 2;
    double left_extra = 0;
    for (const Item& it : d.items)
        if (it.kind == ItemKind::Note) {
            const double w = note_w(it), x = note_x(it, w);
            right = std::max(right, x + w + 8);
            left_extra = std::max(left_extra, axis_w - (x - 8));
        }
    const double shift = std::max(0.0, left_extra);
    const double width = std::ceil(right + shift + 24);

    const double title_h = d.title.empty() ? 16 : 46;
    const double legend_h = o.legend ? 36 : 0;
    const double head_top = title_h + legend_h + 8;
    const double head_h = 64;
    const double Y0 = head_top + head_h + 24;  // diagram y = 0
    const double height = std::ceil(Y0 + d.height + 30);
    auto Y = [&](double y) { return Y0 + y; };

    Buf b;
    b.reserve(4096 + d.items.size() * 760);
    auto out = fmt::appender(b);  // writes straight into the buffer (a back_inserter copies via a temporary)
    fmt::format_to(out,
                   "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                   "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{0}\" height=\"{1}\" viewBox=\"0 0 {0} {1}\" "
                   "font-family=\"{2}\" font-size=\"{3}\">\n",
                   width, height, kFont, fs);
    b.append(std::string_view("<title>"));
    esc(b, d.title.empty() ? std::string_view("ftpsim ladder") : std::string_view(d.title));
    b.append(std::string_view("</title>\n"));
    // Classes for what repeats per item keep a long trace's file small. Colour index: 0 control,
    // 1 data, 2 other.
    fmt::format_to(out,
                   "<style>\n"
                   ".a0{{stroke:{0}}}.a1{{stroke:{1}}}.a2{{stroke:{2}}}.f0{{fill:{0}}}.f1{{fill:{1}}}.f2{{fill:{2}}}\n"
                   ".s{{stroke-width:3px}}.h{{stroke-width:2.2px;stroke-dasharray:9 6}}\n"
                   ".l{{text-anchor:middle;stroke:#ffffff;stroke-width:5px;stroke-linejoin:round;paint-order:stroke}}\n"
                   ".b{{font-weight:bold}}.g{{fill:#343a40}}.e{{text-anchor:end}}\n"
                   ".p{{font-size:{4}px;font-weight:bold}}.r{{font-size:{4}px;font-style:italic;fill:{3}}}\n"
                   ".v{{font-size:{5}px;font-style:italic}}.x{{stroke:{3};stroke-width:4px;stroke-linecap:round}}\n"
                   ".k{{stroke:#868e96;stroke-width:2px}}.t{{font-size:{6}px;fill:#868e96}}\n"
                   "</style>\n",
                   kControl, kData, kOther, kRed, port_fs, std::round(fs * 0.85), port_fs - 1);
    // A folded run of data segments (LayoutOptions::fold_data) is drawn as a wide shaft; the rule is
    // there only when one is, so other ladders stay as they were.
    if (std::any_of(d.items.begin(), d.items.end(), [](const Item& it) { return it.folded_segments > 0; })) {
        b.append(std::string_view("<style>.w{stroke-width:7px}</style>\n"));
    }
    fmt::format_to(out, "<rect x=\"0\" y=\"0\" width=\"{}\" height=\"{}\" fill=\"#ffffff\"/>\n", width, height);
    fmt::format_to(out, "<g transform=\"translate({},0)\">\n", D1{shift});

    if (!d.title.empty()) {
        fmt::format_to(out, "<text x=\"{}\" y=\"32\" font-size=\"{}\" font-weight=\"bold\" fill=\"#212529\">", D1{20.0 - shift}, head_fs + 2);
        esc(b, d.title);
        b.append(std::string_view("</text>\n"));
    }
    if (o.legend) {
        double lx = 20 - shift;
        const double ly = title_h + 20;
        auto sample = [&](const char* stroke, const char* dash, std::string_view text) {
            fmt::format_to(out, "<line x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"{}\" stroke-width=\"3\"{}/>",
                           D1{lx}, D1{ly - 5}, D1{lx + 36}, D1{ly - 5}, stroke, dash);
            fmt::format_to(out, "<text x=\"{}\" y=\"{}\" font-size=\"{}\" fill=\"#343a40\">", D1{lx + 44}, D1{ly}, port_fs + 1);
            esc(b, text);
            b.append(std::string_view("</text>\n"));
            lx += 44 + text_width(text, port_fs + 1) + 30;
        };
        sample(kControl, "", "control connection");
        if (d.has_data) sample(kData, "", "data connection");
        sample(kOther, " stroke-dasharray=\"8 5\"", "TCP signalling (SYN, ACK, FIN, RST)");
        if (d.has_drops) {
            fmt::format_to(out, "<path d=\"M{} {}l12 12m0 -12l-12 12\" stroke=\"{}\" stroke-width=\"3.5\"/>", D1{lx + 10}, D1{ly - 11}, kRed);
            fmt::format_to(out, "<text x=\"{}\" y=\"{}\" font-size=\"{}\" fill=\"#343a40\">dropped</text>\n", D1{lx + 30}, D1{ly}, port_fs + 1);
            lx += 30 + text_width("dropped", port_fs + 1) + 30;
        }
        if (d.has_rejects) {
            fmt::format_to(out, "<path d=\"M{} {}v14\" stroke=\"{}\" stroke-width=\"4\"/>", D1{lx + 14}, D1{ly - 12}, kRed);
            fmt::format_to(out, "<text x=\"{}\" y=\"{}\" font-size=\"{}\" fill=\"#343a40\">rejected (RST back)</text>\n", D1{lx + 30}, D1{ly}, port_fs + 1);
        }
    }

    // Lane headers and lifelines.
    const double life_end = Y(d.height) + 10;
    for (int i = 0; i < lanes; ++i) {
        const Lane& l = d.lanes[i];
        const double x = X(i);
        const double w = header_w;
        fmt::format_to(out, "<line x1=\"{0}\" y1=\"{1}\" x2=\"{0}\" y2=\"{2}\" stroke=\"#adb5bd\" stroke-width=\"2.5\"{3}/>\n",
                       D1{x}, D1{head_top + head_h}, D1{life_end}, l.middlebox ? " stroke-dasharray=\"10 6\"" : "");
        fmt::format_to(out, "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" rx=\"8\" fill=\"{}\" stroke=\"#343a40\" stroke-width=\"2\"/>\n",
                       D1{x - w / 2}, D1{head_top}, D1{w}, D1{head_h}, l.middlebox ? "#fff9db" : "#e9ecef");
        fmt::format_to(out, "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\" font-size=\"{}\" font-weight=\"bold\" fill=\"#212529\">",
                       D1{x}, D1{head_top + 27}, head_fs);
        esc(b, l.name);
        b.append(std::string_view("</text>\n"));
        fmt::format_to(out, "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\" font-size=\"{:.0f}\" fill=\"#495057\">",
                       D1{x}, D1{head_top + 50}, fs * 0.9);
        esc(b, lane_address(l));
        b.append(std::string_view("</text>\n"));
    }

    // The time axis: "time" with a downward arrow, and its marks.
    if (o.time_axis) {
        const double ax = 24 - shift + 8;
        fmt::format_to(out, "<text x=\"{}\" y=\"{}\" font-size=\"{}\" fill=\"#495057\">time</text>\n", D1{ax - 8}, D1{head_top + head_h - 4}, port_fs + 1);
        fmt::format_to(out, "<line x1=\"{0}\" y1=\"{1}\" x2=\"{0}\" y2=\"{2}\" stroke=\"#868e96\" stroke-width=\"2\"/>\n",
                       D1{ax + 8}, D1{head_top + head_h + 4}, D1{life_end});
        fmt::format_to(out, "<path d=\"M{} {}l-6 -12h12z\" fill=\"#868e96\"/>\n", D1{ax + 8}, D1{life_end + 4});
        double last_y = -1e9;
        for (const Tick& t : d.ticks) {
            if (Y(t.y) - last_y < port_fs + 2) continue;  // never print two marks on top of each other
            last_y = Y(t.y);
            fmt::format_to(out, "<path class=\"k\" d=\"M{} {}h8\"/><text class=\"t\" x=\"{}\" y=\"{}\">{}</text>\n", D1{ax + 4},
                           D1{Y(t.y)}, D1{ax + 16}, D1{Y(t.y) + 4}, d.round_ticks ? format_time_short(t.t) : format_time(t.t));
        }
    }

    // Items in y order.
    Placer placer;
    for (const Item& it : d.items) {
        placer.forget_above(Y(it.top()) - 160);
        if (it.kind == ItemKind::Break) {
            const double y0 = Y(it.y0), y1 = Y(it.y1);
            // Each lifeline is cut, with a slash at both ends of the cut.
            for (int i = 0; i < lanes; ++i) {
                fmt::format_to(out, "<rect x=\"{}\" y=\"{}\" width=\"8\" height=\"{}\" fill=\"#ffffff\"/>\n", D1{X(i) - 4},
                               D1{y0 + 6}, D1{y1 - y0 - 12});
                fmt::format_to(out, "<path d=\"M{0} {1}l12 -6M{0} {2}l12 -6\" transform=\"translate(-6,3)\" stroke=\"#868e96\" stroke-width=\"2\"/>\n",
                               D1{X(i)}, D1{y0 + 9}, D1{y1 - 6});
            }
            fmt::format_to(out, "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\" font-size=\"{}\" font-style=\"italic\" fill=\"#868e96\">",
                           D1{(X(0) + X(lanes - 1)) / 2}, D1{(y0 + y1) / 2 + 5}, port_fs + 1);
            esc(b, it.text);
            b.append(std::string_view("</text>\n"));
            continue;
        }
        if (it.kind == ItemKind::Note) {
            const auto ls = lines_of(it.text);
            const double w = note_w(it);
            const double h = static_cast<double>(ls.size()) * line_h + 10;
            const double x = note_x(it, w), y = Y(it.y0);
            placer.add({x, y, x + w, y + h});
            const NoteLook look = note_look(it.note_kind);
            fmt::format_to(out, "<path d=\"M{0} {1}h{2}l10 10v{3}h{4}z\" fill=\"{5}\" stroke=\"{6}\" stroke-width=\"1.5\"/>\n",
                           D1{x}, D1{y}, D1{w - 10}, D1{h - 10}, D1{-w}, look.fill, look.stroke);
            for (std::size_t i = 0; i < ls.size(); ++i) {
                fmt::format_to(out, "<text x=\"{}\" y=\"{}\" font-size=\"{}\" font-style=\"{}\" fill=\"#212529\">",
                               D1{x + 12}, D1{y + line_h * static_cast<double>(i + 1) - 1}, note_fs, look.style);
                esc(b, ls[i]);
                b.append(std::string_view("</text>\n"));
            }
            continue;
        }
        // An arrow.
        const double ax = X(it.from_pos), bx = X(it.to_pos);
        const double ay = Y(it.y0), by = Y(it.y1);
        const double dir = bx >= ax ? 1.0 : -1.0;
        const double len = std::hypot(bx - ax, by - ay);
        const double ux = len > 0 ? (bx - ax) / len : dir, uy = len > 0 ? (by - ay) / len : 0;
        const int ci = colour_index(it);
        const bool dashed = it.style == Style::Handshake;
        const bool alive = it.end == End::Arrow;
        // Stop the shaft where the head starts so the tip stays sharp.
        const double head = alive ? 15 : 0;
        fmt::format_to(out, "<line class=\"a{} {}\" x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\"/>\n", ci,
                       dashed ? 'h' : it.folded_segments > 0 ? 'w' : 's', D1{ax},
                       D1{ay}, D1{bx - ux * head}, D1{by - uy * head});
        if (alive) {
            fmt::format_to(out, "<path class=\"f{}\" d=\"M{} {}L{} {}L{} {}z\"/>\n", ci, D1{bx}, D1{by},
                           D1{bx - ux * 17 - uy * 6.5}, D1{by - uy * 17 + ux * 6.5}, D1{bx - ux * 17 + uy * 6.5}, D1{by - uy * 17 - ux * 6.5});
        } else if (it.end == End::Cross) {
            fmt::format_to(out, "<path class=\"x\" d=\"M{} {}l18 18m0 -18l-18 18\"/>\n", D1{bx - 9}, D1{by - 9});
        } else {
            fmt::format_to(out, "<path d=\"M{} {}v24\" stroke=\"{}\" stroke-width=\"5\"/>\n", D1{bx}, D1{by - 12}, kRed);
        }
        // The label above the arrow, clear of the slanted shaft: at the middle, or slid along the
        // arrow when another label or a note is already there.
        const double lw = text_width(it.label, fs);
        const double slope = std::abs(bx - ax) > 1 ? std::abs((by - ay) / (bx - ax)) : 0;
        const double rise = std::min(slope * lw / 2, 40.0);
        double mx = (ax + bx) / 2, my = (ay + by) / 2;
        double base = my - 7 - rise;
        // Above the shaft first; below it (for labels of arrows that run in parallel) last.
        static constexpr std::pair<double, bool> kSpots[] = {
            {0.5, false}, {0.36, false}, {0.64, false}, {0.24, false}, {0.76, false}, {0.5, true}, {0.3, true}, {0.7, true}};
        for (auto [f, under] : kSpots) {
            const double px = ax + f * (bx - ax), py = ay + f * (by - ay);
            const double bl = under ? py + 7 + rise + fs * 0.8 : py - 7 - rise;
            const Rect r{px - lw / 2, bl - fs * 0.8, px + lw / 2, bl + fs * 0.25};
            if (placer.free(r)) { mx = px; my = py; base = bl; break; }
        }
        placer.add({mx - lw / 2, base - fs * 0.8, mx + lw / 2, base + fs * 0.25});
        if (dashed) fmt::format_to(out, "<text class=\"l g\" x=\"{}\" y=\"{}\">", D1{mx}, D1{base});
        else fmt::format_to(out, "<text class=\"l b f{}\" x=\"{}\" y=\"{}\">", ci, D1{mx}, D1{base});
        if (it.style == Style::Control) {
            // the reply code explained and the data port worked out, as a tooltip
            std::string tip;
            if (auto code = proto::reply_code_of(it.label)) tip = proto::reply_explanation_text(*code);
            if (std::string dec = proto::decoded_endpoint(it.label); !dec.empty())
                tip += (tip.empty() ? "Data port " : " Data port ") + dec;
            if (!tip.empty()) {
                b.append(std::string_view("<title>"));
                esc(b, tip);
                b.append(std::string_view("</title>"));
            }
        }
        esc(b, it.label);
        b.append(std::string_view("</text>\n"));
        double below = std::max(my + 8 + rise + fs * 0.85, base + fs * 1.1);
        if (!it.label_after.empty()) {
            const double w2 = text_width("received as: " + it.label_after, fs * 0.85);
            placer.add({mx - w2 / 2, below - fs * 0.7, mx + w2 / 2, below + 3});
            fmt::format_to(out, "<text class=\"l v f{}\" x=\"{}\" y=\"{}\">", ci, D1{mx}, D1{below});
            b.append(std::string_view("received as: "));
            esc(b, it.label_after);
            b.append(std::string_view("</text>\n"));
            below += fs;
        }
        if (!alive && !it.text.empty()) {
            // Keep the reason clear of the cross at the end it died.
            const double rw = text_width(it.text, port_fs);
            const double rx = dir > 0 ? std::min(mx, bx - 16 - rw / 2) : std::max(mx, bx + 16 + rw / 2);
            placer.add({rx - rw / 2, below - port_fs, rx + rw / 2, below + 3});
            fmt::format_to(out, "<text class=\"l r\" x=\"{}\" y=\"{}\">", D1{rx}, D1{below});
            esc(b, it.text);
            b.append(std::string_view("</text>\n"));
        }
        // Port numbers at the two ends, on the far side of the lifeline from the arrow (where the
        // lecture's figures write "Port 1120"); nudged down or up when another port sits there.
        auto port = [&](std::uint16_t p, double x, double y, bool anchor_end) {
            const double w = text_width(std::to_string(p), port_fs) + 2;
            const double x0 = anchor_end ? x - w : x;
            const std::uint64_t tag = (static_cast<std::uint64_t>(p) << 8) + static_cast<std::uint64_t>(ci) + 1;
            if (placer.repeats({x0, y - port_fs * 0.75, x0 + w, y + port_fs * 0.25, tag})) return;
            for (double dy : {0.0, port_fs + 2, -(port_fs + 2), 2 * (port_fs + 2)}) {
                const Rect r{x0, y + dy - port_fs * 0.75, x0 + w, y + dy + port_fs * 0.25, tag};
                if (placer.free(r) || dy == 2 * (port_fs + 2)) {
                    placer.add(r);
                    fmt::format_to(out, "<text class=\"p f{}{}\" x=\"{}\" y=\"{}\">{}</text>\n", ci, anchor_end ? " e" : "", D1{x},
                                   D1{y + dy}, p);
                    return;
                }
            }
        };
        if (it.from_port) port(it.from_port, ax - dir * 8, ay + port_fs * 0.36, dir > 0);
        if (it.to_port && alive) port(it.to_port, bx + dir * 8, by + port_fs * 0.36, dir < 0);
    }
    b.append(std::string_view("</g>\n</svg>\n"));
    return fmt::to_string(b);
}

namespace {
double svg_attr(std::string_view root, std::string_view name) {
    const std::string key = " " + std::string(name) + "=\"";
    const auto at = root.find(key);
    if (at == std::string_view::npos) return 0;
    return std::strtod(std::string(root.substr(at + key.size(), 24)).c_str(), nullptr);
}
}  // namespace

std::string side_by_side_svg(const std::vector<SvgPane>& panes, double font_size) {
    const double gap = 40, head_h = font_size * 2.4;
    struct Placed {
        std::string_view body;  // from "<svg" on
        double w = 0, h = 0;
    };
    std::vector<Placed> placed;
    double total_w = 0, max_h = 0;
    for (const auto& p : panes) {
        Placed q;
        const auto start = p.svg.find("<svg");
        q.body = start == std::string::npos ? std::string_view() : std::string_view(p.svg).substr(start);
        const auto root_end = q.body.find('>');
        const std::string_view root = q.body.substr(0, root_end == std::string_view::npos ? 0 : root_end);
        q.w = svg_attr(root, "width");
        q.h = svg_attr(root, "height");
        total_w += (placed.empty() ? 0 : gap) + q.w;
        max_h = std::max(max_h, q.h);
        placed.push_back(q);
    }
    Buf b;
    auto out = fmt::appender(b);
    fmt::format_to(out,
                   "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                   "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{0}\" height=\"{1}\" viewBox=\"0 0 {0} {1}\" "
                   "font-family=\"DejaVu Sans, Verdana, Arial, sans-serif\">\n"
                   "<rect width=\"100%\" height=\"100%\" fill=\"#ffffff\"/>\n",
                   D1{total_w}, D1{max_h + head_h});
    double x = 0;
    for (std::size_t i = 0; i < placed.size(); ++i) {
        fmt::format_to(out, "<text x=\"{}\" y=\"{}\" font-size=\"{}\" font-weight=\"bold\" fill=\"#212529\">",
                       D1{x + 20}, D1{font_size * 1.6}, D1{font_size * 1.2});
        esc(b, panes[i].heading);
        b.append(std::string_view("</text>\n"));
        // The pane: its own <svg> element, placed (x, y attributes on the nested root).
        std::string_view body = placed[i].body;
        fmt::format_to(out, "<svg x=\"{}\" y=\"{}\"", D1{x}, D1{head_h});
        b.append(body.substr(4));
        if (b.size() == 0 || b.data()[b.size() - 1] != '\n') b.push_back('\n');
        if (i + 1 < placed.size())
            fmt::format_to(out, "<line x1=\"{0}\" y1=\"0\" x2=\"{0}\" y2=\"{1}\" stroke=\"#adb5bd\" stroke-width=\"2\"/>\n",
                           D1{x + placed[i].w + gap / 2}, D1{max_h + head_h});
        x += placed[i].w + gap;
    }
    b.append(std::string_view("</svg>\n"));
    return fmt::to_string(b);
}

}  // namespace ftpsim::viz

#include "viz/gui/ladder_canvas.hpp"

#include "protocol/reply_codes.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <tuple>

namespace ftpsim::gui {

using viz::Diagram;
using viz::Item;
using viz::ItemKind;

namespace {

ImFont* font_of(const View& v) { return v.font ? v.font : ImGui::GetFont(); }

float font_size_of(const View& v) {
    if (v.font_size > 0) return v.font_size;
    return font_of(v)->FontSize;
}

ImVec2 text_size(const View& v, float size, const char* b, const char* e = nullptr) {
    return font_of(v)->CalcTextSizeA(size, FLT_MAX, 0.0f, b, e);
}

ImU32 with_alpha(ImU32 c, unsigned a) { return (c & ~IM_COL32_A_MASK) | (static_cast<ImU32>(a) << IM_COL32_A_SHIFT); }

std::size_t max_address_lines(const Diagram& d) {
    std::size_t n = 1;
    for (const auto& l : d.lanes) n = std::max(n, l.addresses.size());
    return n;
}

// Walks the items that can be on screen between diagram ys [y0, y1], folding runs of items
// whose tops are closer than `fold` units, Tracy-style:
// every step either draws one item or jumps past a run with a binary search, so the work is
// bounded by the pixels on screen, whatever the number of items.
template <class OnItem, class OnFold>
void walk_visible(const Diagram& d, double y0, double y1, double fold, OnItem on_item, OnFold on_fold) {
    if (d.items.empty()) return;
    // A cluster of items that start together on different lanes (a note beside an arrow) can
    // still be told apart, so a run folds only when it is a stream: more items than a row of
    // lanes shows, or dense over more than a couple of fold widths.
    const std::size_t fold_min = std::max<std::size_t>(3, 2 * d.lanes.size() + 2);
    std::size_t first = 0, end = d.items.size();
    if (d.max_bottom.size() == d.items.size()) std::tie(first, end) = d.visible_range(y0, y1);
    const auto& items = d.items;
    auto first_top_at_least = [&](std::size_t from, double y) {
        return static_cast<std::size_t>(
            std::partition_point(items.begin() + static_cast<std::ptrdiff_t>(from),
                                 items.begin() + static_cast<std::ptrdiff_t>(end),
                                 [y](const Item& it) { return it.top() < y; }) -
            items.begin());
    };
    std::size_t i = first;
    while (i < end) {
        const Item& it = items[i];
        if (it.top() > y1) break;
        const double top = it.top();
        std::size_t j = first_top_at_least(i, top + fold);
        if (j - i >= 3) {
            // extend while the next item starts within a fold width of the run's end; every
            // step moves at least one fold width, so this costs pixels, not items
            double run_end = top + fold;
            while (j < end && items[j].top() < run_end + fold && items[j].top() <= y1) {
                run_end = items[j].top() + fold;
                j = first_top_at_least(j, run_end);
            }
            if (j - i > fold_min || run_end - top > 2.5 * fold) {
                on_fold(i, j, top, run_end);
                i = j;
                continue;
            }
        }
        if (it.bottom() >= y0) on_item(i);
        ++i;
    }
}

std::vector<std::string> wrap_words(const View& v, const std::string& s, float size, float max_w);

// An FTP line in the usual view, spread over the ladder's width: one line ("sent  =>  received"
// when a middlebox rewrote it), set at most a fifth smaller to fit `avail` pixels; too wide for
// that, it wraps at spaces, the line as received starting a line of its own. No lines: a word
// is too wide even so.
struct WideFtpLine {
    std::vector<std::string> lines;
    std::size_t first_received = SIZE_MAX;  // the first line of the line as received, on its own
    float size = 0, w = 0, text_h = 0;
};

WideFtpLine wide_ftp_line(const View& v, float font_size, const std::string& sent, const std::string& after, float avail) {
    WideFtpLine out;
    auto width = [&](float size, const std::string& t) { return font_of(v)->CalcTextSizeA(size, FLT_MAX, 0.0f, t.c_str()).x; };
    auto fit = [&](std::vector<std::string> lines, std::size_t first_received) {
        float w = 0;
        for (const auto& l : lines) w = std::max(w, width(font_size, l));
        float size = font_size;
        if (w > avail) {
            size = std::max(font_size * 0.8f, font_size * avail / w);
            w = 0;
            for (const auto& l : lines) w = std::max(w, width(size, l));
            if (w > avail) return false;
        }
        out.size = size;
        out.w = w;
        out.text_h = size * 1.12f * static_cast<float>(lines.size() - 1) + size;
        out.lines = std::move(lines);
        out.first_received = first_received;
        return true;
    };
    const std::string one = sent.empty() ? "received: " + after : after.empty() ? sent : sent + "  =>  " + after;
    if (fit({one}, sent.empty() ? 0 : SIZE_MAX)) return out;
    for (const float size : {font_size, font_size * 0.8f}) {
        std::vector<std::string> lines = sent.empty() ? std::vector<std::string>{} : wrap_words(v, sent, size, avail);
        const std::size_t first_received = after.empty() ? SIZE_MAX : lines.size();
        if (!after.empty())
            for (auto& l : wrap_words(v, (sent.empty() ? "received: " : "=>  ") + after, size, avail)) lines.push_back(std::move(l));
        if (fit(std::move(lines), first_received)) return out;
    }
    return {};
}

struct NoteBox {
    ImVec2 min, max;
    float text_size;                 // 0: too small to write
    std::vector<std::string> lines;  // the note's text, wrapped at spaces to the box
    float text_w = 0;                // the widest line
};

std::size_t count_lines(const std::string& s) { return 1 + static_cast<std::size_t>(std::count(s.begin(), s.end(), '\n')); }

// Splits `s` at spaces into lines no wider than max_w (a word wider than that stays whole);
// its own line breaks are kept.
std::vector<std::string> wrap_words(const View& v, const std::string& s, float size, float max_w) {
    std::vector<std::string> lines;
    std::string cur;
    bool open = false;
    std::size_t i = 0;
    while (i <= s.size()) {
        const std::size_t j = std::min(s.find_first_of(" \n", i), s.size());
        const std::string word = s.substr(i, j - i);
        const std::string joined = cur.empty() && !open ? word : cur + " " + word;
        if (open && text_size(v, size, joined.c_str()).x > max_w) {
            lines.push_back(cur);
            cur = word;
        } else {
            cur = joined;
        }
        open = true;
        if (j >= s.size() || s[j] == '\n') {
            lines.push_back(cur);
            cur.clear();
            open = false;
        }
        i = j + 1;
    }
    if (lines.empty()) lines.push_back("");
    return lines;
}

NoteBox note_box(const Item& it, const CanvasGeometry& g, const View& v, bool compressed) {
    const float pad = 6.0f * v.scale;
    const float top = g.y(it.top());
    float bottom = std::max(g.y(it.bottom()), top + 2.0f);
    const std::size_t lines = count_lines(it.text);
    // compressed rows make room for the box (room_for_labels): the text keeps the font's size;
    // to scale, notes are stacked and their text fits the box's height
    const float fits = (bottom - top - 2.0f) / static_cast<float>(lines);
    float size = compressed ? g.font_size : std::min(g.font_size, fits / 1.15f);
    if (size < 7.0f) size = 0;
    const int lo = std::max(0, it.lane_lo), hi = std::max(lo, it.lane_hi);
    const float cx = (g.lane_x(lo) + g.lane_x(hi)) * 0.5f;
    // as wide as its text needs, up to the visible canvas (right of the ruler): notes have their
    // rows to themselves
    const float max_w = std::max(30.0f * v.scale, v.canvas_max.x - v.canvas_min.x - g.ruler_w - 6.0f);
    NoteBox box;
    if (size > 0) {
        // a note wider than the room is set a little smaller (to 85 %), then wrapped at spaces
        // and the box grows down to hold its lines: never cut at the canvas' edge
        const float full = text_size(v, size, it.text.c_str()).x;
        if (full + 2 * pad > max_w) size = std::max(size * 0.85f, size * (max_w - 2 * pad) / full);
        box.lines = wrap_words(v, it.text, size, max_w - 2 * pad);
        for (const auto& l : box.lines) box.text_w = std::max(box.text_w, text_size(v, size, l.c_str()).x);
        bottom = std::max(bottom, top + size * 1.1f * static_cast<float>(box.lines.size()) + 2.0f);
    }
    float w = size > 0 ? box.text_w + 2 * pad : 40.0f * v.scale;
    w = std::clamp(w, 30.0f * v.scale, std::max(30.0f * v.scale, max_w));
    float x0 = cx - w * 0.5f;
    // keep the box on the canvas (right of the ruler)
    x0 = std::max(x0, v.canvas_min.x + g.ruler_w + 2.0f);
    x0 = std::min(x0, v.canvas_max.x - w - 2.0f);
    box.min = {x0, top};
    box.max = {x0 + w, bottom};
    box.text_size = size;
    return box;
}

// The top of the first line drawn under an arrow from a to b: below the port numbers at its ends.
float under_arrow(ImVec2 a, ImVec2 b, float font_size, float scale) {
    return std::max(a.y, b.y) + font_size * 0.8f * 0.45f + 1.0f * scale;
}

float dist_to_segment(ImVec2 p, ImVec2 a, ImVec2 b) {
    const float dx = b.x - a.x, dy = b.y - a.y;
    const float len2 = dx * dx + dy * dy;
    float t = len2 > 0 ? ((p.x - a.x) * dx + (p.y - a.y) * dy) / len2 : 0.0f;
    t = std::clamp(t, 0.0f, 1.0f);
    const float qx = a.x + t * dx - p.x, qy = a.y + t * dy - p.y;
    return std::sqrt(qx * qx + qy * qy);
}

ImU32 arrow_colour(const Item& it, const Theme& th) {
    switch (it.purpose) {
    case viz::Purpose::Control: return th.control;
    case viz::Purpose::Data: return th.data;
    default: return th.other;
    }
}

class Painter {
public:
    Painter(ImDrawList* dl, const Diagram& d, const View& v)
        : dl_(dl), d_(d), v_(v), g_(canvas_geometry(d, v)), th_(theme(v.theme)) {
        label_bottom_.assign(std::max<std::size_t>(1, d.lanes.size() * d.lanes.size()), -1e30f);
        port_bottom_.assign(d.lanes.size() * 2, -1e30f);
    }

    LadderStats run() {
        dl_->PushClipRect(v_.canvas_min, v_.canvas_max, true);
        dl_->AddRectFilled(v_.canvas_min, v_.canvas_max, th_.background);
        const double y0 = g_.units(v_.canvas_min.y + g_.header_h), y1 = g_.units(v_.canvas_max.y);
        reveal_ = v_.item_steps && v_.reveal_step != SIZE_MAX && v_.item_steps->size() == d_.items.size();
        if (reveal_ && !v_.ghost_future) {
            // the lifelines and the ruler end a little below the lowest item revealed so far
            double bottom = 0;
            for (std::size_t i = 0; i < d_.items.size(); ++i) {
                if ((*v_.item_steps)[i] > v_.reveal_step) {
                    if (d_.items[i].top() > bottom + d_.options.row_height * 4) break;  // sorted by top
                    continue;
                }
                bottom = std::max(bottom, d_.items[i].bottom());
            }
            reveal_bottom_ = g_.y(bottom) + g_.font_size * 1.5f;
        }
        draw_ruler(y0, reveal_bottom_ < 1e29f ? std::min(y1, g_.units(reveal_bottom_)) : y1);
        draw_lifelines();
        const double fold = v_.fold_px * v_.scale / g_.px_per_unit;
        walk_visible(
            d_, y0, y1, fold,
            [&](std::size_t i) {
                if (future(i) && !v_.ghost_future) {
                    ++stats_.future_hidden;
                    return;
                }
                draw_item(i);
            },
            [&](std::size_t b, std::size_t e, double top, double bottom) {
                if (future(b) && !v_.ghost_future) {
                    stats_.future_hidden += e - b;
                    return;
                }
                draw_fold(b, e, top, bottom);
            });
        draw_headers();
        dl_->PopClipRect();
        stats_.culled = d_.items.size() - stats_.drawn - stats_.folded - stats_.future_hidden;
        return stats_;
    }

private:
    ImDrawList* dl_;
    const Diagram& d_;
    const View& v_;
    CanvasGeometry g_;
    const Theme& th_;
    LadderStats stats_;
    std::vector<float> label_bottom_;  // per (lo lane, hi lane) pair: bottom of the last label
    std::vector<float> port_bottom_;   // per lane and side: bottom of the last port number
    std::size_t cur_index_ = SIZE_MAX;  // the item being drawn
    bool reveal_ = false;              // progressive reveal in force
    float reveal_bottom_ = 1e30f;      // screen y below which nothing is drawn (reveal, not ghosted)

    bool future(std::size_t i) const { return reveal_ && (*v_.item_steps)[i] > v_.reveal_step; }

    void text(ImVec2 pos, ImU32 col, float size, const std::string& s) {
        dl_->AddText(font_of(v_), size, pos, col, s.c_str(), s.c_str() + s.size());
    }

    using TextKind = LadderStats::TextKind;

    void text_with_bg(ImVec2 pos, ImU32 col, float size, const std::string& s, TextKind kind = TextKind::Label) {
        const ImVec2 ts = text_size(v_, size, s.c_str(), s.c_str() + s.size());
        const float p = 2.0f * v_.scale;
        dl_->AddRectFilled({pos.x - p, pos.y}, {pos.x + ts.x + p, pos.y + ts.y}, th_.label_bg, 2.0f * v_.scale);
        text(pos, col, size, s);
        occupy(kind, pos, {pos.x + ts.x, pos.y + ts.y});
    }

    // What a class reads is kept apart: each text placed on the rows is recorded, and the next
    // one looks for a place clear of them (free).
    void occupy(TextKind kind, ImVec2 mn, ImVec2 mx) { stats_.texts.push_back({cur_index_, kind, mn, mx}); }
    bool free(ImVec2 mn, ImVec2 mx) const {
        const float tol = 1.0f;
        return std::none_of(stats_.texts.begin(), stats_.texts.end(), [&](const LadderStats::TextBox& t) {
            return mn.x < t.max.x - tol && t.min.x < mx.x - tol && mn.y < t.max.y - tol && t.min.y < mx.y - tol;
        });
    }

    void band(float top, float bottom, ImU32 col) {
        dl_->AddRectFilled({v_.canvas_min.x + g_.ruler_w, top}, {v_.canvas_max.x, bottom}, col);
    }

    void draw_ruler(double y0, double y1) {
        if (!v_.time_ruler || d_.ticks.empty()) return;
        const float size = g_.font_size * 0.8f;
        auto lo = std::partition_point(d_.ticks.begin(), d_.ticks.end(), [&](const viz::Tick& t) { return t.y < y0; });
        float last = -1e30f;
        std::string last_label;
        // skip ahead by binary search when ticks are denser than the text, so a million rows
        // cost as much as the labels that fit
        for (auto it = lo; it != d_.ticks.end() && it->y <= y1;) {
            const float sy = g_.y(it->y);
            if (sy - last >= size * 1.6f) {
                std::string label = viz::format_time(it->t);
                if (label == last_label) label = "";  // rows at the same time: say it once
                else last_label = label;
                text({v_.canvas_min.x + 4.0f * v_.scale, sy - size * 0.5f}, th_.time_text, size, label);
                dl_->AddLine({v_.canvas_min.x + g_.ruler_w - 6.0f * v_.scale, sy}, {v_.canvas_max.x, sy}, th_.grid,
                             1.0f);
                last = sy;
                ++it;
            } else {
                const double next_y = g_.units(last + size * 1.6f);
                it = std::partition_point(it, d_.ticks.end(), [&](const viz::Tick& t) { return t.y < next_y; });
            }
        }
    }

    void draw_lifelines() {
        const float top = v_.canvas_min.y + g_.header_h;
        const float bottom = std::min({v_.canvas_max.y, std::max(top, g_.y(d_.height) + 20.0f * v_.scale), reveal_bottom_});
        for (std::size_t i = 0; i < d_.lanes.size(); ++i) {
            const auto& lane = d_.lanes[i];
            const float x = g_.lane_x(static_cast<double>(i));
            dl_->AddLine({x, top}, {x, bottom}, lane.middlebox ? th_.middlebox_lifeline : th_.lifeline,
                         (lane.middlebox ? 3.0f : 2.0f) * v_.scale);
        }
    }

    void draw_headers() {
        const float pad = 6.0f * v_.scale;
        dl_->AddRectFilled(v_.canvas_min, {v_.canvas_max.x, v_.canvas_min.y + g_.header_h}, th_.background);
        dl_->AddLine({v_.canvas_min.x, v_.canvas_min.y + g_.header_h}, {v_.canvas_max.x, v_.canvas_min.y + g_.header_h},
                     th_.grid, 1.0f * v_.scale);
        const float title = g_.font_size * 1.1f, sub = g_.font_size * 0.85f;
        for (std::size_t i = 0; i < d_.lanes.size(); ++i) {
            const auto& lane = d_.lanes[i];
            const float x = g_.lane_x(static_cast<double>(i));
            float w = text_size(v_, title, lane.name.c_str()).x;
            for (const auto& a : lane.addresses) w = std::max(w, text_size(v_, sub, a.c_str()).x);
            w = std::min(w + 2 * pad, std::max(g_.lane_spacing * 0.95f, 60.0f * v_.scale));
            const ImVec2 a{x - w * 0.5f, v_.canvas_min.y + pad * 0.5f};
            const ImVec2 b{x + w * 0.5f, v_.canvas_min.y + g_.header_h - pad * 0.5f};
            dl_->AddRectFilled(a, b, lane.middlebox ? th_.note_fill : th_.lane_header_fill, 4.0f * v_.scale);
            dl_->AddRect(a, b, lane.middlebox ? th_.note_border : th_.lane_header_border, 4.0f * v_.scale, 0,
                         1.5f * v_.scale);
            const ImVec4 clip{a.x, a.y, b.x, b.y};
            stats_.lane_boxes.push_back({a, b});
            float y = a.y + pad * 0.5f;
            // a name or an address wider than its box (close lanes) is set smaller, to 60 % at
            // most, rather than cut: the addresses are the lesson's numbers
            auto centred = [&](const std::string& s, float size, ImU32 col) {
                float ts = size, tw = text_size(v_, ts, s.c_str()).x;
                if (tw > w - pad) {
                    ts = std::max(size * 0.6f, size * (w - pad) / tw);
                    tw = text_size(v_, ts, s.c_str()).x;
                }
                const ImVec2 at{x - std::min(tw, w - pad) * 0.5f, y + (size - ts) * 0.5f};
                dl_->AddText(font_of(v_), ts, at, col, s.c_str(), s.c_str() + s.size(), 0.0f, &clip);
                stats_.texts.push_back({i, TextKind::Header, at, {at.x + tw, at.y + ts}});
                y += size * 1.15f;
            };
            centred(lane.name, title, th_.lane_title);
            for (const auto& addr : lane.addresses) centred(addr, sub, th_.lane_subtitle);
        }
    }

    bool claim_label(const Item& it, float top, float bottom) {
        const std::size_t n = std::max<std::size_t>(1, d_.lanes.size());
        const int lo = std::clamp(std::min(it.from_lane, it.to_lane), 0, static_cast<int>(n) - 1);
        const int hi = std::clamp(std::max(it.from_lane, it.to_lane), 0, static_cast<int>(n) - 1);
        float& last = label_bottom_[static_cast<std::size_t>(lo) * n + static_cast<std::size_t>(hi)];
        if (top < last) {
            ++stats_.labels_skipped;
            return false;
        }
        last = bottom;
        return true;
    }

    void draw_item(std::size_t index) {
        const bool ghost = future(index);
        const int vtx_from = dl_->VtxBuffer.Size;
        draw_item_now(index);
        if (ghost) {
            // faded: every vertex the item drew keeps a quarter of its opacity
            ++stats_.future_ghosted;
            for (int i = vtx_from; i < dl_->VtxBuffer.Size; ++i) {
                ImU32& c = dl_->VtxBuffer[i].col;
                const unsigned a = (c >> IM_COL32_A_SHIFT) & 0xFF;
                c = with_alpha(c, a / 4);
            }
        }
    }

    void draw_item_now(std::size_t index) {
        const Item& it = d_.items[index];
        ++stats_.drawn;
        stats_.drawn_items.push_back(index);
        cur_index_ = index;
        const bool current = v_.current_event != SIZE_MAX && it.event == v_.current_event;
        const float pad = 5.0f * v_.scale;
        if (current) band(g_.y(it.top()) - pad, g_.y(it.bottom()) + pad, th_.highlight);
        if (index == v_.hovered_item) band(g_.y(it.top()) - pad, g_.y(it.bottom()) + pad, th_.hover);
        switch (it.kind) {
        case ItemKind::Arrow: draw_arrow(it); break;
        case ItemKind::Note: draw_note(it); break;
        case ItemKind::Break: draw_break(it); break;
        }
    }

    void draw_arrow(const Item& it) {
        const ImVec2 a{g_.lane_x(it.from_pos), g_.y(it.y0)};
        const ImVec2 b{g_.lane_x(it.to_pos), g_.y(it.y1)};
        const bool handshake = it.style == viz::Style::Handshake;
        ImU32 col = arrow_colour(it, th_);
        if (handshake) col = with_alpha(col, 190);
        const float thick = (handshake ? 1.5f : it.style == viz::Style::Data ? 3.0f : 2.5f) * v_.scale;
        const float dx = b.x - a.x, dy = b.y - a.y;
        const float len = std::max(1.0f, std::sqrt(dx * dx + dy * dy));
        const float ux = dx / len, uy = dy / len;
        const float head = 11.0f * v_.scale;
        if (it.end == viz::End::Arrow) {
            const ImVec2 base{b.x - ux * head, b.y - uy * head};
            dl_->AddLine(a, base, col, thick);
            const float hw = head * 0.45f;
            dl_->AddTriangleFilled(b, {base.x - uy * hw, base.y + ux * hw}, {base.x + uy * hw, base.y - ux * hw}, col);
        } else {
            dl_->AddLine(a, b, col, thick);
        }
        if (it.end == viz::End::Cross) {
            const float s = 8.0f * v_.scale;
            dl_->AddLine({b.x - s, b.y - s}, {b.x + s, b.y + s}, th_.drop, 3.5f * v_.scale);
            dl_->AddLine({b.x - s, b.y + s}, {b.x + s, b.y - s}, th_.drop, 3.5f * v_.scale);
        } else if (it.end == viz::End::Rejected) {
            const float s = 9.0f * v_.scale;
            dl_->AddLine({b.x - uy * s, b.y + ux * s}, {b.x + uy * s, b.y - ux * s}, th_.reject, 4.0f * v_.scale);
        }
        draw_arrow_labels(it, a, b);
    }

    void draw_arrow_labels(const Item& it, ImVec2 a, ImVec2 b) {
        const float size = g_.font_size, small = g_.font_size * 0.8f;
        if (it.label.empty() && it.label_after.empty() && !it.from_port && !it.to_port) return;
        if (v_.present && it.style == viz::Style::Control && (!it.label.empty() || !it.label_after.empty())) {
            draw_ftp_label_present(it, a, b);
            return;
        }
        const float mid_y = (a.y + b.y) * 0.5f;
        // the label sits above the arrow's middle; a long one is set smaller, then shortened
        const float span = std::fabs(b.x - a.x);
        const float max_w = std::max(span - 4.0f * v_.scale, 80.0f * v_.scale);
        // When a middlebox changed the line on the way (end to end), the line as received
        // follows " => " in the data colour on the same line if that fits, else it goes below
        // the arrow (and may push the next label out).
        const std::string sent = it.label;
        std::string joined = sent;
        bool after_inline = false;
        if (!it.label_after.empty()) {
            const std::string one_line = sent + (sent.empty() ? "received: " : "  =>  ") + it.label_after;
            after_inline = text_size(v_, size * 0.85f, one_line.c_str()).x <= max_w;
            if (after_inline) joined = one_line;
        }
        const float label_top = mid_y - size * 1.15f;
        const float label_bottom = it.label_after.empty() || after_inline ? mid_y : mid_y + small * 1.2f;
        bool ports_done = false;
        if (it.style == viz::Style::Control && (!it.label.empty() || !it.label_after.empty()) &&
            draw_ftp_label_wide(it, a, b, max_w)) {
            ports_done = true;
        } else if ((!it.label.empty() || !it.label_after.empty()) && claim_label(it, label_top, label_bottom))
            draw_label(it, a, b, max_w, sent, joined, after_inline);
        else if (it.style == viz::Style::Control && (!it.label.empty() || !it.label_after.empty())) {
            FtpLabel rec;
            rec.item = cur_index_;
            rec.full = joined;
            rec.skipped = true;
            stats_.ftp_labels.push_back(rec);
        }
        if (v_.ports && !ports_done) draw_ports(it, a, b);
        // only where the rows leave room for a line under the arrow (the tooltip has it anyway)
        const bool room = d_.options.time == viz::TimeScale::Compressed &&
                          g_.px_per_unit * d_.options.row_height >= 3.0f * g_.font_size;
        if (!it.translation.empty() && room) draw_translation(it, a, b);
    }

    // An FTP line in the usual view: whole, not shortened (PORT 192,168,1,10,146,139 between two
    // close lanes carries the lesson's numbers): centred over its arrow, set at most a fifth
    // smaller and spread over the canvas' width when its lifelines are too close, as in
    // presentation mode, unless it would cover another FTP line or a data connection's port
    // number (then it stays between its lifelines, shortened as before); the arrow's port numbers are
    // drawn first and it keeps clear of them. False (nothing drawn): no room for it.
    bool draw_ftp_label_wide(const Item& it, ImVec2 a, ImVec2 b, float span_w) {
        const std::string& sent = it.label;
        const std::string& after = it.label_after;
        const float pad = 6.0f * v_.scale;
        const float left = v_.canvas_min.x + g_.ruler_w + pad, right = v_.canvas_max.x - pad;
        const WideFtpLine wide = wide_ftp_line(v_, g_.font_size, sent, after, right - left);
        if (wide.lines.empty()) return false;
        const float sz = wide.size, w = wide.w, th = wide.text_h;
        const std::vector<LadderStats::Port> ports = v_.ports ? plan_ports(it, a, b) : std::vector<LadderStats::Port>{};
        ImVec2 at = place_on_arrow(a, b, w, th, sz, sz * 0.15f, left, right, ports);
        // a port number or a label of the rows above may stand where the line goes (the rows
        // are as tall as room_for_labels measured, but a line may have slid); it slides sideways off it
        for (const auto& p : stats_.texts) {
            const bool hit = at.x < p.max.x && p.min.x < at.x + w && at.y < p.max.y && p.min.y < at.y + th;
            if (!hit) continue;
            const float moved = (p.min.x + p.max.x) * 0.5f < at.x + w * 0.5f ? p.max.x + 2.0f * v_.scale : p.min.x - 2.0f * v_.scale - w;
            const bool clear = moved >= left && moved + w <= right &&
                               std::none_of(ports.begin(), ports.end(), [&](const auto& q) {
                                   return moved < q.max.x && q.min.x < moved + w && at.y < q.max.y && q.min.y < at.y + th;
                               });
            // only along the arrow's own span (or it would float free of it)
            const float lo = std::min(a.x, b.x) - w, hi = std::max(a.x, b.x);
            if (clear && moved >= lo && moved <= hi) at.x = moved;
        }
        const ImVec2 end{at.x + w, at.y + th};
        const bool covers_ftp = std::any_of(stats_.ftp_labels.begin(), stats_.ftp_labels.end(), [&](const FtpLabel& l) {
            return !l.skipped && at.x < l.max.x && l.min.x < end.x && at.y < l.max.y && l.min.y < end.y;
        });
        // nor over a data connection's port number of the rows above that it could not slide off
        // (where a data SYN ends, with its red cross: the lesson itself); then it stays between
        // its lifelines. The control connection's ports repeat on every row.
        const bool covers_port = std::any_of(stats_.ports.begin(), stats_.ports.end(), [&](const LadderStats::Port& p) {
            return d_.items[p.item].style != viz::Style::Control && at.x < p.max.x && p.min.x < end.x && at.y < p.max.y &&
                   p.min.y < end.y;
        });
        if (covers_ftp || (covers_port && w > span_w)) return false;
        if (!claim_label(it, at.y, (a.y + b.y) * 0.5f)) {
            --stats_.labels_skipped;  // not skipped yet: the usual way may still place it
            return false;
        }
        draw_planned_ports(ports);
        float y = at.y;
        for (std::size_t i = 0; i < wide.lines.size(); ++i) {
            const std::string& l = wide.lines[i];
            // the line as received (a middlebox rewrote it) in the data colour
            const auto arrow = l.find("  =>  ");
            if (wide.lines.size() == 1 && arrow != std::string::npos && !sent.empty()) {
                const std::string first = l.substr(0, arrow);
                text_with_bg({at.x, y}, th_.label, sz, first, TextKind::FtpLine);
                text_with_bg({at.x + text_size(v_, sz, first.c_str()).x, y}, th_.data, sz, l.substr(arrow), TextKind::FtpLine);
            } else {
                const bool received = i >= wide.first_received && wide.first_received != SIZE_MAX;
                text_with_bg({at.x, y}, received ? th_.data : th_.label, sz, l, TextKind::FtpLine);
            }
            y += sz * 1.12f;
        }
        ++stats_.labels;
        FtpLabel rec;
        rec.item = cur_index_;
        rec.full = sent.empty() ? after : after.empty() ? sent : sent + " => " + after;
        rec.shown = rec.full;
        rec.min = at;
        rec.max = end;
        rec.size = sz;
        stats_.ftp_labels.push_back(rec);
        return true;
    }

    // A NAT's work on the arrow itself: the addresses before -> after, under the arrow's middle.
    void draw_translation(const Item& it, ImVec2 a, ImVec2 b) {
        const float ts = g_.font_size * 0.8f;
        const float left = v_.canvas_min.x + g_.ruler_w + 2.0f, right = v_.canvas_max.x - 2.0f;
        const float tw = text_size(v_, ts, it.translation.c_str()).x;
        const float y = under_arrow(a, b, g_.font_size, v_.scale);
        text_with_bg({std::clamp((a.x + b.x) * 0.5f - tw * 0.5f, left, std::max(left, right - tw)), y}, th_.data, ts, it.translation,
                     TextKind::Under);
        ++stats_.labels;
    }

    void draw_label(const Item& it, ImVec2 a, ImVec2 b, float max_w, const std::string& sent,
                    const std::string& joined, bool after_inline) {
        const float size = g_.font_size, small = g_.font_size * 0.8f;
        const float mid_y = (a.y + b.y) * 0.5f;
        const float span = std::fabs(b.x - a.x);

        auto fit = [&](const std::string& s, float& sz) {
            const float w = text_size(v_, sz, s.c_str()).x;
            if (w > max_w) sz = std::max(sz * 0.8f, sz * max_w / w);
            if (text_size(v_, sz, s.c_str()).x <= max_w) return s;
            std::string t = s;
            while (t.size() > 4 && text_size(v_, sz, (t + "...").c_str()).x > max_w) t.pop_back();
            return t + "...";
        };
        const float cx = (a.x + b.x) * 0.5f;
        // a steep arrow would cut through its label's box: lift the label clear of the line
        const float slope = std::fabs(b.y - a.y) / std::max(1.0f, span);
        if (!it.label.empty() || !it.label_after.empty()) {
            float sz = size;
            const std::string shown = fit(joined, sz);
            const float w = text_size(v_, sz, shown.c_str()).x;
            const float lift = std::min(slope * w * 0.5f, size * 1.5f);
            const ImVec2 pos{cx - w * 0.5f, mid_y - sz * 1.15f - lift};
            if (it.style != viz::Style::Control && !free(pos, {pos.x + w, pos.y + sz})) {
                ++stats_.labels_skipped;  // TCP flags and data sizes give way (the tooltip has them)
                return;
            }
            const TextKind kind = it.style == viz::Style::Control ? TextKind::FtpLine : TextKind::Label;
            if (!shown.empty()) text_with_bg(pos, th_.label, sz, shown, kind);
            std::size_t rec_index = SIZE_MAX;
            if (it.style == viz::Style::Control) {
                FtpLabel rec;
                rec.item = cur_index_;
                // the whole line, as sent and as received, and what of it is on screen
                rec.full = after_inline || it.label_after.empty() ? joined
                           : sent.empty()                        ? it.label_after
                                                                 : sent + " => " + it.label_after;
                rec.shown = shown;
                rec.min = pos;
                rec.max = {pos.x + w, pos.y + sz};
                rec.size = sz;
                rec_index = stats_.ftp_labels.size();
                stats_.ftp_labels.push_back(rec);
            }
            if (after_inline && shown.size() > sent.size()) {
                const float sent_w = text_size(v_, sz, sent.c_str()).x;
                text_with_bg({pos.x + sent_w, pos.y}, th_.data, sz, shown.substr(sent.size()), kind);
            }
            ++stats_.labels;
            if (!it.label_after.empty() && !after_inline) {
                float asz = small;
                const std::string s = fit("received as: " + it.label_after, asz);
                const float aw = text_size(v_, asz, s.c_str()).x;
                text_with_bg({cx - aw * 0.5f, mid_y + 2.0f * v_.scale + std::min(slope * aw * 0.5f, size * 1.5f)}, th_.data,
                             asz, s, TextKind::Under);
                ++stats_.labels;
                if (rec_index != SIZE_MAX) {
                    auto& rec = stats_.ftp_labels[rec_index];
                    const std::size_t prefix = std::string("received as: ").size();
                    rec.shown = (sent.empty() ? "" : rec.shown + " => ") + (s.size() > prefix ? s.substr(prefix) : std::string());
                }
            }
        }
    }

    std::vector<std::string> wrap(const std::string& s, float size, float max_w) const { return wrap_words(v_, s, size, max_w); }

    // Where a label w wide and text_h high goes over the arrow a -> b: centred over it (inside
    // [left, right]), its bottom `gap` above the arrow's highest point under it (raised by at
    // most one line, `size`, on a steep arrow). A label wider than its arrow would cover the port
    // numbers at the arrow's ends (drawn just before it): it moves along the arrow away from
    // them, and where the canvas is too narrow for that, it rises above them. The port numbers
    // are part of the lesson.
    ImVec2 place_on_arrow(ImVec2 a, ImVec2 b, float w, float text_h, float size, float gap, float left, float right,
                          const std::vector<LadderStats::Port>& ports) const {
        const float mid_y = (a.y + b.y) * 0.5f;
        auto top_at = [&](float x) {
            auto line_y = [&](float px) {
                const float lo = std::min(a.x, b.x), hi = std::max(a.x, b.x);
                const float t = std::fabs(b.x - a.x) < 1.0f ? 0.5f : (std::clamp(px, lo, hi) - a.x) / (b.x - a.x);
                return a.y + (b.y - a.y) * t;
            };
            const float bottom = std::max(std::min(line_y(x), line_y(x + w)), mid_y - size);
            return bottom - gap - text_h;
        };
        float x0 = std::clamp((a.x + b.x) * 0.5f - w * 0.5f, left, std::max(left, right - w));
        float top = top_at(x0);
        auto covers = [&](const LadderStats::Port& p, float x, float y) {
            return x < p.max.x && p.min.x < x + w && y < p.max.y && p.min.y < y + text_h;
        };
        for (const auto& p : ports) {
            if (!covers(p, x0, top)) continue;
            const float moved = (p.min.x + p.max.x) * 0.5f < (a.x + b.x) * 0.5f ? p.max.x + 2.0f * v_.scale : p.min.x - 2.0f * v_.scale - w;
            const float moved_top = top_at(moved);
            if (moved >= left && moved + w <= right &&
                std::none_of(ports.begin(), ports.end(), [&](const auto& q) { return covers(q, moved, moved_top); })) {
                x0 = moved;
                top = moved_top;
            }
        }
        for (const auto& p : ports)
            if (covers(p, x0, top)) top = p.min.y - 1.0f * v_.scale - text_h;
        return {x0, top};
    }

    // Presentation mode: the FTP line whole, at least min_ftp_px high, centred over its arrow but
    // free to use the canvas' whole width, wrapped when even that is too narrow; the line as
    // received (when a middlebox rewrote it) in the data colour; the decoded endpoint under the
    // arrow. It is always drawn: other labels give way to it.
    void draw_ftp_label_present(const Item& it, ImVec2 a, ImVec2 b) {
        const float size = std::max(g_.font_size, v_.min_ftp_px);
        const float pad = 6.0f * v_.scale;
        const float left = v_.canvas_min.x + g_.ruler_w + pad, right = v_.canvas_max.x - pad;
        const float max_w = std::max(40.0f, right - left);
        struct Line {
            std::string text;
            ImU32 col;
        };
        std::vector<Line> lines;
        const std::string sent = it.label, after = it.label_after;
        const std::string one = sent.empty() ? "received: " + after : sent + "  =>  " + after;
        if (after.empty()) {
            for (auto& l : wrap(sent, size, max_w)) lines.push_back({l, th_.label});
        } else if (text_size(v_, size, one.c_str()).x <= max_w) {
            lines.push_back({one, th_.label});
        } else {
            for (auto& l : wrap(sent, size, max_w)) lines.push_back({l, th_.label});
            for (auto& l : wrap("=>  " + after, size, max_w)) lines.push_back({l, th_.data});
        }
        float w = 0;
        for (const auto& l : lines) w = std::max(w, text_size(v_, size, l.text.c_str()).x);
        const float lh = size * 1.12f;
        const float mid_y = (a.y + b.y) * 0.5f;
        const float text_h = lh * static_cast<float>(lines.size() - 1) + size;
        // the arrow's port numbers first: the FTP line keeps clear of them
        const std::vector<LadderStats::Port> ports = v_.ports ? plan_ports(it, a, b) : std::vector<LadderStats::Port>{};
        draw_planned_ports(ports);
        const ImVec2 at = place_on_arrow(a, b, w, text_h, size, lh - size, left, right, ports);
        const float x0 = at.x, top = at.y;
        claim_label(it, -1e30f, mid_y);  // never skipped; smaller labels after it give way
        FtpLabel rec;
        rec.item = cur_index_;
        rec.full = sent.empty() ? after : after.empty() ? sent : sent + " => " + after;
        rec.min = {x0, top};
        rec.max = {x0, top};
        rec.size = size;
        float y = top;
        for (std::size_t i = 0; i < lines.size(); ++i) {
            const auto& l = lines[i];
            const float lw = text_size(v_, size, l.text.c_str()).x;
            // a line that starts with the received text continues the sent one in its own colour
            const auto arrow = l.text.find("  =>  ");
            if (arrow != std::string::npos && l.col == th_.label) {
                text_with_bg({x0, y}, th_.label, size, l.text.substr(0, arrow), TextKind::FtpLine);
                text_with_bg({x0 + text_size(v_, size, l.text.substr(0, arrow).c_str()).x, y}, th_.data, size,
                             l.text.substr(arrow), TextKind::FtpLine);
            } else {
                text_with_bg({x0, y}, l.col, size, l.text, TextKind::FtpLine);
            }
            rec.max.x = std::max(rec.max.x, x0 + lw);
            rec.shown += (i ? " " : "") + l.text;
            y += lh;
        }
        rec.max.y = top + lh * static_cast<float>(lines.size() - 1) + size;
        ++stats_.labels;
        float under = under_arrow(a, b, g_.font_size, v_.scale);  // the next free line under the arrow
        rec.under_min = {right, under};
        rec.under_max = {left, under};
        if (!it.translation.empty()) {
            const float ts = std::max(size * 0.8f, v_.min_ftp_px * 0.8f);
            const float tw = text_size(v_, ts, it.translation.c_str()).x;
            const float tx = std::clamp((a.x + b.x) * 0.5f - tw * 0.5f, left, std::max(left, right - tw));
            text_with_bg({tx, under}, th_.data, ts, it.translation, TextKind::Under);
            rec.under_min.x = std::min(rec.under_min.x, tx);
            rec.under_max = {std::max(rec.under_max.x, tx + tw), under + ts};
            under += ts * 1.1f;
            ++stats_.labels;
        }
        if (v_.decode_endpoints) {
            std::string dec = proto::decoded_endpoint(sent);
            const std::string dec_after = after.empty() ? std::string() : proto::decoded_endpoint(after);
            if (!dec_after.empty() && dec_after != dec) dec = dec.empty() ? "received " + dec_after : dec + "  =>  " + dec_after;
            if (!dec.empty()) {
                const float ds = std::max(size * 0.9f, v_.min_ftp_px * 0.9f);
                std::vector<std::string> dl = wrap(dec, ds, max_w);
                float dw = 0;
                for (const auto& l : dl) dw = std::max(dw, text_size(v_, ds, l.c_str()).x);
                float dx = std::clamp((a.x + b.x) * 0.5f - dw * 0.5f, left, std::max(left, right - dw));
                float dy = under;
                for (const auto& l : dl) {
                    text_with_bg({dx, dy}, th_.port, ds, l, TextKind::Under);
                    rec.under_min.x = std::min(rec.under_min.x, dx);
                    rec.under_max = {std::max(rec.under_max.x, dx + text_size(v_, ds, l.c_str()).x), dy + ds};
                    dy += ds * 1.1f;
                }
                rec.decoded = dec;
                ++stats_.labels;
            }
        }
        // compared word by word: the separators' spaces do not count
        auto words = [](const std::string& t) {
            std::string o;
            for (char c : t)
                if (c != ' ' || (!o.empty() && o.back() != ' ')) o += c;
            while (!o.empty() && o.back() == ' ') o.pop_back();
            return o;
        };
        rec.full = words(rec.full);
        rec.shown = words(rec.shown);
        stats_.ftp_labels.push_back(rec);
    }

    // Port numbers outside the span at both ends (behind the tail, beyond the head), so they
    // never collide with the label between the lifelines; one per lane side and text height.
    // plan_ports says where they go (those that fit), draw_planned_ports draws them.
    std::vector<LadderStats::Port> plan_ports(const Item& it, ImVec2 a, ImVec2 b) const {
        std::vector<LadderStats::Port> out;
        const float small = g_.font_size * 0.8f;
        const float dir = b.x >= a.x ? 1.0f : -1.0f;
        const float gap = 4.0f * v_.scale;
        auto port = [&](std::uint16_t p, int lane, ImVec2 at, float outward, float clearance) {
            if (!p || lane < 0 || static_cast<std::size_t>(lane) >= d_.lanes.size()) return;
            const float top = at.y - small * 0.55f;
            if (top < port_bottom_[static_cast<std::size_t>(lane) * 2 + (outward > 0 ? 1 : 0)]) return;
            const float w = text_size(v_, small, std::to_string(p).c_str()).x;
            const float x = outward > 0 ? at.x + gap + clearance : at.x - gap - clearance - w;
            out.push_back({cur_index_, p, {x, top}, {x + w, top + small}, lane, outward > 0});
        };
        port(it.from_port, it.from_lane, a, -dir, 0.0f);
        port(it.to_port, it.to_lane, b, dir, it.end == viz::End::Arrow ? 0.0f : 9.0f * v_.scale);  // clear of the cross
        return out;
    }
    void draw_planned_ports(const std::vector<LadderStats::Port>& ports) {
        for (const auto& p : ports) {
            port_bottom_[static_cast<std::size_t>(p.lane) * 2 + (p.right ? 1 : 0)] = p.min.y + (p.max.y - p.min.y) * 1.1f;
            text_with_bg(p.min, th_.port, p.max.y - p.min.y, std::to_string(p.port), TextKind::Port);
            stats_.ports.push_back(p);
            ++stats_.labels;
        }
    }
    void draw_ports(const Item& it, ImVec2 a, ImVec2 b) {
        const auto planned = plan_ports(it, a, b);
        const std::size_t wanted = (it.from_port && it.from_lane >= 0 ? 1 : 0) + (it.to_port && it.to_lane >= 0 ? 1 : 0);
        if (planned.size() < wanted) stats_.labels_skipped += wanted - planned.size();
        draw_planned_ports(planned);
    }

    void draw_note(const Item& it) {
        const NoteBox box = note_box(it, g_, v_, d_.options.time == viz::TimeScale::Compressed);
        ImU32 fill = th_.note_fill, border = th_.note_border, tc = th_.note_text;
        switch (it.note_kind) {
        case viz::NoteKind::Middlebox: break;
        case viz::NoteKind::Note: fill = th_.explain_fill; border = th_.explain_border; tc = th_.label; break;
        case viz::NoteKind::Socket:
        case viz::NoteKind::Timer: fill = th_.socket_fill; border = th_.socket_border; tc = th_.label; break;
        }
        const float r = 4.0f * v_.scale;
        dl_->AddRectFilled(box.min, box.max, fill, r);
        occupy(TextKind::Note, box.min, box.max);
        dl_->AddRect(box.min, box.max, border, r, 0, 1.5f * v_.scale);
        if (box.text_size > 0) {
            const float pad = 6.0f * v_.scale;
            const float lh = box.text_size * 1.1f;
            const float th = lh * static_cast<float>(box.lines.size() - 1) + box.text_size;
            float y = box.min.y + std::max(0.0f, (box.max.y - box.min.y - th) * 0.5f);
            LadderStats::NoteShown shown{cur_index_, {}, box.text_size, box.min, box.max, box.text_w + 2 * pad};
            for (std::size_t i = 0; i < box.lines.size(); ++i) {
                const auto& l = box.lines[i];
                dl_->AddText(font_of(v_), box.text_size, {box.min.x + pad, y}, tc, l.c_str(), l.c_str() + l.size());
                shown.shown += (i ? "\n" : "") + l;
                y += lh;
            }
            stats_.notes.push_back(std::move(shown));
            ++stats_.labels;
        }
    }

    void draw_break(const Item& it) {
        const float top = g_.y(it.top()), bottom = g_.y(it.bottom());
        const float mid = (top + bottom) * 0.5f;
        const float x0 = v_.canvas_min.x + g_.ruler_w, x1 = v_.canvas_max.x;
        const float step = 10.0f * v_.scale, amp = std::min(4.0f * v_.scale, (bottom - top) * 0.3f);
        for (float x = x0; x < x1; x += step * 2) {
            dl_->AddLine({x, mid - amp}, {x + step, mid + amp}, th_.lifeline, 1.5f * v_.scale);
            dl_->AddLine({x + step, mid + amp}, {x + 2 * step, mid - amp}, th_.lifeline, 1.5f * v_.scale);
        }
        const std::string& s = it.label.empty() ? it.text : it.label;
        if (!s.empty() && bottom - top >= g_.font_size * 0.8f) {
            const float size = g_.font_size * 0.85f;
            const float w = text_size(v_, size, s.c_str()).x;
            text_with_bg({(g_.lane_x(0) + g_.lane_x(static_cast<double>(std::max<std::size_t>(1, d_.lanes.size()) - 1))) * 0.5f - w * 0.5f,
                          mid - size * 0.5f},
                         th_.time_text, size, s, TextKind::Mark);
            ++stats_.labels;
        }
    }

    void draw_fold(std::size_t b, std::size_t e, double top, double bottom) {
        stats_.folded += e - b;
        ++stats_.fold_marks;
        const float y0 = g_.y(top), y1 = std::max(g_.y(bottom), y0 + 3.0f * v_.scale);
        const float x0 = g_.lane_x(0) - 8.0f * v_.scale;
        const float x1 = g_.lane_x(static_cast<double>(std::max<std::size_t>(1, d_.lanes.size()) - 1)) + 8.0f * v_.scale;
        // a folded current step is marked by a line at its place
        if (v_.current_item >= b && v_.current_item < e) {
            const float y = g_.y(d_.items[v_.current_item].top());
            band(y - 2.0f * v_.scale, y + 2.0f * v_.scale, with_alpha(th_.highlight, 255));
        }
        // translucent, so the lifelines show through a long fold
        dl_->AddRectFilled({x0, y0}, {x1, y1}, th_.fold_fill, 2.0f * v_.scale);
        dl_->AddRect({x0, y0}, {x1, y1}, th_.lifeline, 2.0f * v_.scale, 0, 1.0f * v_.scale);
        const float size = g_.font_size * 0.85f;
        if (y1 - y0 >= size) {
            char buf[64];
            std::snprintf(buf, sizeof buf, y1 - y0 >= size * 3 ? "%zu items (zoom in to see them)" : "%zu items", e - b);
            const float w = text_size(v_, size, buf).x;
            // centred in the visible part of the mark, so a tall fold still shows its count
            const float top = std::max(y0, v_.canvas_min.y + g_.header_h), bottom = std::min(y1, v_.canvas_max.y);
            const float ty = std::clamp((top + bottom) * 0.5f - size * 0.5f, y0, y1 - size);
            text_with_bg({(x0 + x1) * 0.5f - w * 0.5f, ty}, th_.fold_text, size, buf, TextKind::Mark);
            ++stats_.labels;
        }
    }
};

}  // namespace

CanvasGeometry canvas_geometry(const Diagram& d, const View& v) {
    CanvasGeometry g;
    g.font_size = font_size_of(v);
    const float pad = 6.0f * v.scale;
    g.header_h = g.font_size * 1.1f * 1.15f + g.font_size * 0.85f * 1.15f * static_cast<float>(max_address_lines(d)) +
                 pad * 1.5f;
    g.ruler_w = v.time_ruler ? text_size(v, g.font_size * 0.8f, "000.000 ms").x + 14.0f * v.scale : 0.0f;
    const float width = v.canvas_max.x - v.canvas_min.x - g.ruler_w;
    const std::size_t n = std::max<std::size_t>(1, d.lanes.size());
    // the outer lanes keep half a spacing (at most 160 px) for their headers and notes
    const float margin = std::min(width / static_cast<float>(2 * n), 160.0f * v.scale);
    g.lane_spacing = v.lane_spacing > 0 ? v.lane_spacing
                     : n > 1          ? std::max(40.0f * v.scale, (width - 2 * margin) / static_cast<float>(n - 1))
                                      : 0.0f;
    g.first_lane_x = v.canvas_min.x + g.ruler_w + margin + v.pan.x;
    g.px_per_unit = std::max(1e-6f, v.zoom * v.scale);
    g.origin_y = v.canvas_min.y + g.header_h + g.font_size * 1.6f + v.pan.y;
    return g;
}

std::vector<double> room_for_labels(const Diagram& d, const View& v) {
    std::vector<double> shift(d.items.size(), 0.0);
    if (d.options.time != viz::TimeScale::Compressed || d.items.empty()) return shift;
    View at = v;
    at.pan = {0, 0};
    const CanvasGeometry g = canvas_geometry(d, at);
    const float F = g.font_size, small = F * 0.8f, s = v.scale;
    const float pad = 6.0f * s;
    const float left = v.canvas_min.x + g.ruler_w + pad, right = std::max(left + 1.0f, v.canvas_max.x - pad);
    const float x_lo = v.canvas_min.x, bin = 4.0f;
    const std::size_t bins = static_cast<std::size_t>(std::max(1.0f, (v.canvas_max.x - x_lo) / bin)) + 1;
    std::vector<float> sky(bins, -1e30f);  // per column: the lowest edge drawn so far
    struct Rect {
        float x0, x1, y0, y1;
    };
    std::vector<Rect> rects;
    auto width = [&](float size, const std::string& t) { return text_size(at, size, t.c_str()).x; };
    auto centred = [&](float cx, float w) { return std::clamp(cx - w * 0.5f, left, std::max(left, right - w)); };
    const bool room_under = g.px_per_unit * d.options.row_height >= 3.0f * F;
    const float margin = 2.0f * s;
    float moved = 0;  // pixels added so far
    for (std::size_t i = 0; i < d.items.size(); ++i) {
        const Item& it = d.items[i];
        rects.clear();
        if (it.kind == ItemKind::Note) {
            const NoteBox box = note_box(it, g, at, true);
            rects.push_back({box.min.x, box.max.x, box.min.y, box.max.y});
        } else if (it.kind == ItemKind::Arrow) {
            const ImVec2 a{g.lane_x(it.from_pos), g.y(it.y0)}, b{g.lane_x(it.to_pos), g.y(it.y1)};
            const float mid_y = (a.y + b.y) * 0.5f, cx = (a.x + b.x) * 0.5f;
            // the port numbers at its ends, where plan_ports puts them
            const float dir = b.x >= a.x ? 1.0f : -1.0f, gap = 4.0f * s;
            std::vector<Rect> ports;
            auto port = [&](std::uint16_t p, int lane, ImVec2 e, float outward, float clearance) {
                if (!v.ports || !p || lane < 0) return;
                const float w = width(small, std::to_string(p));
                const float x = outward > 0 ? e.x + gap + clearance : e.x - gap - clearance - w;
                ports.push_back({x, x + w, e.y - small * 0.55f, e.y + small * 0.45f});
            };
            port(it.from_port, it.from_lane, a, -dir, 0.0f);
            port(it.to_port, it.to_lane, b, dir, it.end == viz::End::Arrow ? 0.0f : 9.0f * s);
            rects.insert(rects.end(), ports.begin(), ports.end());
            const bool ftp = it.style == viz::Style::Control && (!it.label.empty() || !it.label_after.empty());
            float under = under_arrow(a, b, F, s);
            if (ftp) {
                // the FTP line above the arrow, as place_on_arrow puts it (raised above its own
                // port numbers when it would cover them)
                const std::string& sent = it.label;
                const std::string& after = it.label_after;
                float size = F, w = 0, text_h = 0, lgap = 0;
                if (v.present) {
                    size = std::max(F, v.min_ftp_px);
                    const float max_w = std::max(40.0f, right - left);
                    const std::string one = sent.empty() ? "received: " + after : sent + "  =>  " + after;
                    std::size_t n = 1;
                    if (after.empty()) {
                        n = wrap_words(at, sent, size, max_w).size();
                        w = std::min(width(size, sent), max_w);
                    } else if (width(size, one) <= max_w) {
                        w = width(size, one);
                    } else {
                        n = wrap_words(at, sent, size, max_w).size() + wrap_words(at, "=>  " + after, size, max_w).size();
                        w = max_w;
                    }
                    const float lh = size * 1.12f;
                    text_h = lh * static_cast<float>(n - 1) + size;
                    lgap = lh - size;
                } else {
                    const WideFtpLine wide = wide_ftp_line(at, F, sent, after, right - left);
                    if (!wide.lines.empty()) {
                        size = wide.size;
                        w = wide.w;
                        text_h = wide.text_h;
                    } else {
                        // kept between its lifelines, shortened (draw_label)
                        w = std::min(width(size, sent.empty() ? after : sent), std::max(std::fabs(b.x - a.x), 80.0f * s));
                        text_h = size * (after.empty() ? 1.0f : 2.0f);
                    }
                    lgap = size * 0.15f;
                }
                const float x0 = centred(cx, w);
                auto line_y = [&](float px) {
                    const float lo = std::min(a.x, b.x), hi = std::max(a.x, b.x);
                    const float t = std::fabs(b.x - a.x) < 1.0f ? 0.5f : (std::clamp(px, lo, hi) - a.x) / (b.x - a.x);
                    return a.y + (b.y - a.y) * t;
                };
                float top = std::max(std::min(line_y(x0), line_y(x0 + w)), mid_y - size) - lgap - text_h;
                for (const Rect& p : ports)
                    if (x0 < p.x1 && p.x0 < x0 + w && top < p.y1 && p.y0 < top + text_h) top = std::min(top, p.y0 - 1.0f * s - text_h);
                rects.push_back({x0, x0 + w, top, top + text_h});
                if (v.present) {
                    if (!it.translation.empty()) {
                        const float ts = std::max(size * 0.8f, v.min_ftp_px * 0.8f);
                        const float tw = width(ts, it.translation);
                        rects.push_back({centred(cx, tw), centred(cx, tw) + tw, under, under + ts});
                        under += ts * 1.1f;
                    }
                    if (v.decode_endpoints) {
                        std::string dec = proto::decoded_endpoint(sent);
                        const std::string dec_after = after.empty() ? std::string() : proto::decoded_endpoint(after);
                        if (!dec_after.empty() && dec_after != dec) dec = dec.empty() ? "received " + dec_after : dec + "  =>  " + dec_after;
                        if (!dec.empty()) {
                            const float ds = std::max(size * 0.9f, v.min_ftp_px * 0.9f);
                            const auto lines = wrap_words(at, dec, ds, std::max(40.0f, right - left));
                            float dw = 0;
                            for (const auto& l : lines) dw = std::max(dw, width(ds, l));
                            rects.push_back({centred(cx, dw), centred(cx, dw) + dw, under,
                                             under + ds * 1.1f * static_cast<float>(lines.size() - 1) + ds});
                        }
                    }
                }
            }
            if (!it.translation.empty() && room_under && !(ftp && v.present)) {
                const float ts = F * 0.8f, tw = width(ts, it.translation);
                rects.push_back({centred(cx, tw), centred(cx, tw) + tw, under, under + ts});
            }
        }
        // how far down this item must go to clear every column it draws in
        float need = 0;
        auto cols = [&](const Rect& r) {
            const auto c0 = static_cast<std::size_t>(std::clamp((r.x0 - x_lo) / bin, 0.0f, static_cast<float>(bins - 1)));
            const auto c1 = static_cast<std::size_t>(std::clamp((r.x1 - x_lo) / bin, 0.0f, static_cast<float>(bins - 1)));
            return std::make_pair(c0, c1);
        };
        for (const Rect& r : rects) {
            const auto [c0, c1] = cols(r);
            for (std::size_t c = c0; c <= c1; ++c) need = std::max(need, sky[c] + margin - (r.y0 + moved));
        }
        moved += need;
        for (const Rect& r : rects) {
            const auto [c0, c1] = cols(r);
            for (std::size_t c = c0; c <= c1; ++c) sky[c] = std::max(sky[c], r.y1 + moved);
        }
        shift[i] = moved / g.px_per_unit;
    }
    return shift;
}

void apply_room(Diagram& d, const std::vector<double>& shift) {
    if (shift.size() != d.items.size() || shift.empty()) return;
    // a time mark is at the top of the first item at or below it
    std::size_t k = 0;
    for (auto& t : d.ticks) {
        while (k < d.items.size() && d.items[k].top() < t.y - 1e-9) ++k;
        t.y += shift[std::min(k, shift.size() - 1)];
    }
    double mb = 0;
    for (std::size_t i = 0; i < d.items.size(); ++i) {
        d.items[i].y0 += shift[i];
        d.items[i].y1 += shift[i];
        mb = std::max(mb, d.items[i].bottom());
        if (i < d.max_bottom.size()) d.max_bottom[i] = mb;
    }
    d.height += shift.back();
}

LadderStats draw_ladder(ImDrawList* dl, const Diagram& d, const View& v) {
    Painter p(dl, d, v);
    return p.run();
}

LadderHit hit_test(const Diagram& d, const View& v, ImVec2 point) {
    LadderHit hit;
    if (point.x < v.canvas_min.x || point.y < v.canvas_min.y || point.x > v.canvas_max.x || point.y > v.canvas_max.y)
        return hit;
    const CanvasGeometry g = canvas_geometry(d, v);
    if (point.y < v.canvas_min.y + g.header_h) {
        for (std::size_t i = 0; i < d.lanes.size(); ++i)
            if (std::fabs(point.x - g.lane_x(static_cast<double>(i))) < g.lane_spacing * 0.45f)
                hit.lane = static_cast<int>(i);
        return hit;
    }
    const float tol = 7.0f * v.scale;
    // arrows' labels sit above them, so look a label's height below the point too
    const double y0 = g.units(point.y - tol), y1 = g.units(point.y + tol + g.font_size * 1.3f);
    const double fold = v.fold_px * v.scale / g.px_per_unit;
    float best = 1e30f;
    walk_visible(
        d, y0, y1, fold,
        [&](std::size_t i) {
            const Item& it = d.items[i];
            float dist = 1e30f;
            if (it.kind == ItemKind::Arrow) {
                const ImVec2 a{g.lane_x(it.from_pos), g.y(it.y0)}, b{g.lane_x(it.to_pos), g.y(it.y1)};
                dist = dist_to_segment(point, a, b);
                // on the label above the middle counts too
                const float mx = (a.x + b.x) * 0.5f, my = (a.y + b.y) * 0.5f;
                if (point.y <= my && point.y >= my - g.font_size * 1.2f && std::fabs(point.x - mx) < std::fabs(b.x - a.x) * 0.5f)
                    dist = std::min(dist, tol * 0.5f);
            } else if (it.kind == ItemKind::Note) {
                const NoteBox box = note_box(it, g, v, d.options.time == viz::TimeScale::Compressed);
                if (point.x >= box.min.x && point.x <= box.max.x && point.y >= box.min.y && point.y <= box.max.y)
                    dist = 0;
            }
            if (dist <= tol && dist < best) {
                best = dist;
                hit.item = i;
            }
        },
        [&](std::size_t b, std::size_t e, double top, double bottom) {
            const float sy0 = g.y(top), sy1 = std::max(g.y(bottom), sy0 + 3.0f * v.scale);
            if (point.y >= sy0 - 2 && point.y <= sy1 + 2 && hit.item == SIZE_MAX) hit.fold_count = e - b;
        });
    if (hit.item != SIZE_MAX) hit.fold_count = 0;
    return hit;
}

void scroll_to(const Diagram& d, View& v, double units, float fraction) {
    View probe = v;
    probe.pan.y = 0;
    const CanvasGeometry g = canvas_geometry(d, probe);
    const float top = v.canvas_min.y + g.header_h;
    const float target = top + (v.canvas_max.y - top) * fraction;
    v.pan.y = target - g.y(units);
}

float fit_zoom(const Diagram& d, const View& v, float min_zoom) {
    View probe = v;
    probe.pan = {0, 0};
    probe.zoom = 1;
    const CanvasGeometry g = canvas_geometry(d, probe);
    const float avail = v.canvas_max.y - g.origin_y - 10.0f * v.scale;
    if (d.height <= 0 || avail <= 0) return 1.0f;
    return std::clamp(avail / (static_cast<float>(d.height) * v.scale), min_zoom, 1.0f);
}

}  // namespace ftpsim::gui

// The ladder canvas: draws a viz::Diagram into an ImDrawList, separated from any window so it
// can be unit-tested with ImGui's core alone.
//
// Only what is visible is drawn (after Tracy's timeline): a binary search over the diagram's
// y order finds the first candidate, items outside the canvas are culled, and runs of items
// whose tops fall within a few pixels of each other are folded into one "N items" mark. The cost
// follows the pixels on screen, not the length of the trace.
//
// Screen mapping: diagram y (abstract units) times zoom times the UI scale gives pixels below
// the sticky lane headers; lane positions are spread `lane_spacing` pixels apart.
#pragma once

#include "viz/diagram.hpp"
#include "viz/gui/theme.hpp"

#include <imgui.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace ftpsim::gui {

struct View {
    ImVec2 canvas_min{0, 0}, canvas_max{800, 600};  // screen rectangle of the canvas
    float zoom = 1.0f;        // vertical zoom (diagram units -> pixels, before the UI scale)
    ImVec2 pan{0, 0};         // content offset in pixels (negative y scrolls down)
    float scale = 1.0f;       // UI scale: line widths, margins and the font grow with it
    ThemeKind theme = ThemeKind::Light;
    ImFont* font = nullptr;   // nullptr: ImGui's current font
    float font_size = 0;      // 0: the font's size
    float lane_spacing = 0;   // pixels between lanes; 0: spread the lanes over the canvas width
    float fold_px = 3.0f;     // items starting closer than this (times scale) are folded
    std::size_t current_event = SIZE_MAX;  // trace event of the playback step to highlight
    std::size_t current_item = SIZE_MAX;   // its item, marked by a line when folded away
    std::size_t hovered_item = SIZE_MAX;   // item index to tint (from hit_test)
    bool ports = true;        // port numbers at the arrow ends
    bool time_ruler = true;   // times at the left edge

    // Presentation mode: an FTP line (a control arrow's label) is never shortened or set below
    // min_ftp_px; it may spread over the whole canvas width and wraps at spaces when even that is
    // too narrow. Other labels give way to it.
    bool present = false;
    float min_ftp_px = 24;
    // Under every PORT/EPRT/227/229 line, the endpoint it announces, worked out
    // ("= 192.168.150.90 port 195 x 256 + 149 = 50069", protocol/reply_codes.hpp).
    bool decode_endpoints = false;

    // Progressive reveal: with item_steps (the playback step of each item, GuiState) and
    // reveal_step set, items of later steps are not drawn (ghost_future: drawn faded); the
    // lifelines and the time ruler stop below the current step.
    const std::vector<std::uint32_t>* item_steps = nullptr;
    std::size_t reveal_step = SIZE_MAX;  // SIZE_MAX: everything is drawn
    bool ghost_future = false;
};

// What an FTP line's label became on screen (LadderStats::ftp_labels), for tests that check
// that no FTP line is cut and that it is large enough.
struct FtpLabel {
    std::size_t item = SIZE_MAX;
    std::string full;         // the label the item carries (sent, then " => " received, when changed)
    std::string shown;        // the text drawn, its lines joined by one space ("" when left out)
    std::string decoded;      // the decoded endpoint line drawn under it, if any
    ImVec2 under_min{0, 0}, under_max{0, 0};  // the rectangle of what is drawn under the arrow (translation, decoded)
    ImVec2 min{0, 0}, max{0, 0};  // the rectangle of the text drawn
    float size = 0;           // the text's pixel height
    bool skipped = false;     // left out (it would overlap another label)
};

struct LadderStats {
    std::size_t drawn = 0;         // items drawn individually
    std::size_t folded = 0;        // items represented by fold marks
    std::size_t fold_marks = 0;    // "N items" marks drawn
    std::size_t culled = 0;        // items not drawn at all (outside the canvas)
    std::size_t labels = 0;        // text labels drawn (arrow labels, ports, notes)
    std::size_t labels_skipped = 0;  // labels left out because they would overlap
    std::size_t future_hidden = 0;   // items of later steps not drawn (progressive reveal)
    std::size_t future_ghosted = 0;  // items of later steps drawn faded
    std::vector<std::size_t> drawn_items;  // the items drawn individually, in order
    std::vector<FtpLabel> ftp_labels;      // every FTP line label met while drawing
    struct Port {
        std::size_t item = SIZE_MAX;
        std::uint16_t port = 0;
        ImVec2 min{0, 0}, max{0, 0};
        int lane = -1;        // the lane it stands beside
        bool right = false;   // on the lane's right side
    };
    std::vector<Port> ports;               // every port number drawn at an arrow's end
    // Every text drawn on the ladder's rows (not the lane headers or the time ruler), and every
    // note box: what a class reads. The canvas places each one clear of those drawn before it,
    // or leaves out what may give way (TCP flags); tests check that none overlaps another.
    enum class TextKind : std::uint8_t { FtpLine, Label, Port, Under, Note, Mark, Header };  // Header: item is the lane
    struct TextBox {
        std::size_t item = SIZE_MAX;
        TextKind kind = TextKind::Label;
        ImVec2 min{0, 0}, max{0, 0};
    };
    std::vector<TextBox> texts;
    // Every note drawn: its text as wrapped (lines joined by '\n'), size and box.
    struct NoteShown {
        std::size_t item = SIZE_MAX;
        std::string shown;
        float size = 0;
        ImVec2 min{0, 0}, max{0, 0};
        float text_w = 0;  // the widest line with the box's padding
    };
    std::vector<NoteShown> notes;
    std::vector<std::pair<ImVec2, ImVec2>> lane_boxes;  // each lane's header box, in lane order
};

// The canvas geometry derived from a View and a Diagram (also what hit_test uses).
struct CanvasGeometry {
    float font_size = 13;
    float header_h = 0;     // height of the sticky lane headers
    float ruler_w = 0;      // width of the time ruler on the left
    float lane_spacing = 0;
    float px_per_unit = 1;  // zoom * scale
    float first_lane_x = 0; // screen x of lane 0
    float origin_y = 0;     // screen y of diagram y = 0

    float lane_x(double pos) const { return first_lane_x + static_cast<float>(pos) * lane_spacing; }
    float y(double units) const { return origin_y + static_cast<float>(units) * px_per_unit; }
    double units(float screen_y) const { return (screen_y - origin_y) / px_per_unit; }
};

CanvasGeometry canvas_geometry(const viz::Diagram& d, const View& v);

LadderStats draw_ladder(ImDrawList* dl, const viz::Diagram& d, const View& v);

struct LadderHit {
    std::size_t item = SIZE_MAX;   // the item under the point, or SIZE_MAX
    std::size_t fold_count = 0;    // > 0: the point is on a fold mark of this many items
    int lane = -1;                 // >= 0: the point is on this lane's header
    explicit operator bool() const { return item != SIZE_MAX || fold_count > 0 || lane >= 0; }
};

// What is under a screen point, with the same culling and folding as draw_ladder.
LadderHit hit_test(const viz::Diagram& d, const View& v, ImVec2 point);

// Rows as tall as what they draw needs (compressed time only): walks the diagram once and
// measures, at `v` (its font, lane spacing and zoom), the rectangles each item puts on the
// canvas (an FTP line above its arrow, wrapped in presentation mode; the port numbers at its
// ends; the lines under it; a note's box, wrapped), keeps the lowest edge drawn so far per
// column of pixels (a skyline), and moves an item down, with everything after it, just far
// enough to clear what the rows above drew. TCP flags and other small labels give way
// instead. Returns each item's downward shift in diagram units (non-decreasing).
std::vector<double> room_for_labels(const viz::Diagram& d, const View& v);
// Moves items and time marks down by `shift` (from room_for_labels) and updates the height.
void apply_room(viz::Diagram& d, const std::vector<double>& shift);

// Pan so that diagram y `units` is at `fraction` of the visible canvas height (0 top, 1 bottom).
void scroll_to(const viz::Diagram& d, View& v, double units, float fraction = 0.35f);
// The zoom that shows the whole diagram in the canvas height (clamped to [min_zoom, 1]).
float fit_zoom(const viz::Diagram& d, const View& v, float min_zoom = 0.001f);

}  // namespace ftpsim::gui

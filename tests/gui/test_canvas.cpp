// The ladder canvas drawn with ImGui's core and no window: what lands in the draw list.
#include "tests/gui/headless.hpp"
#include "tests/support/demo_backend.hpp"
#include "viz/diagram.hpp"
#include "viz/gui/backend.hpp"
#include "viz/gui/ladder_canvas.hpp"

#include <doctest/doctest.h>

#include <chrono>

using namespace ftpsim;
using ftpsim::gui::testing::HeadlessImGui;
using ftpsim::gui::testing::vertices_in;
using ftpsim::gui::testing::vertices_near;

namespace {

trace::Trace demo(const std::string& mode, const std::string& alg) {
    auto backend = gui::make_demo_backend();
    auto knobs = backend->knobs("demo-active-nat");
    REQUIRE(knobs.set("clients.client.mode", mode));
    REQUIRE(knobs.set("nodes.home-router.alg.enabled", alg));
    return backend->simulate(knobs);
}

gui::View view_for(const HeadlessImGui& im) {
    gui::View v;
    v.canvas_min = {0, 0};
    v.canvas_max = {1280, 800};
    v.font = im.font();
    return v;
}

bool fully_on_canvas(const gui::CanvasGeometry& g, const gui::View& v, const viz::Item& it) {
    return g.y(it.top()) > v.canvas_min.y + g.header_h + 20 && g.y(it.bottom()) < v.canvas_max.y - 20;
}

}  // namespace

TEST_CASE("the lane headers and lifelines are drawn where the layout puts the lanes") {
    HeadlessImGui im;
    const auto d = viz::layout(demo("port", "false"));
    REQUIRE(d.lanes.size() == 3);
    const gui::View v = view_for(im);
    const auto g = gui::canvas_geometry(d, v);
    const ImDrawList& dl = im.frame([&](ImDrawList* l) { gui::draw_ladder(l, d, v); });
    for (std::size_t i = 0; i < d.lanes.size(); ++i) {
        const float x = g.lane_x(static_cast<double>(i));
        CAPTURE(i);
        // the lane's name is written inside its header box
        CHECK(vertices_in(dl, {x - g.lane_spacing * 0.4f, v.canvas_min.y}, {x + g.lane_spacing * 0.4f, g.header_h}) > 20);
        // the lifeline runs down the lane's x
        CHECK(vertices_near(dl, {x, g.header_h + 2}, 3) > 0);
    }
    // lanes are left to right, evenly spaced, and inside the canvas
    CHECK(g.lane_x(0) > v.canvas_min.x + g.ruler_w);
    CHECK(g.lane_x(2) < v.canvas_max.x);
    CHECK(g.lane_x(1) - g.lane_x(0) == doctest::Approx(g.lane_x(2) - g.lane_x(1)));
}

TEST_CASE("arrows end in heads or crosses at the layout's coordinates, with labels above them") {
    HeadlessImGui im(1280, 100000);  // text outside the display is clipped on the CPU
    auto d = viz::layout(demo("port", "false"));
    gui::View v = view_for(im);
    v.canvas_max = {1280, 100000};  // tall enough to show every item
    gui::apply_room(d, gui::room_for_labels(d, v));  // as the app does: rows as tall as their labels need
    const auto g = gui::canvas_geometry(d, v);
    gui::LadderStats stats;
    const ImDrawList& dl = im.frame([&](ImDrawList* l) { stats = gui::draw_ladder(l, d, v); });
    CHECK(stats.culled == 0);
    CHECK(stats.folded == 0);
    CHECK(stats.drawn == d.items.size());
    std::size_t arrows = 0, crosses = 0, labelled = 0;
    for (const auto& it : d.items) {
        if (it.kind != viz::ItemKind::Arrow) continue;
        ++arrows;
        const ImVec2 end{g.lane_x(it.to_pos), g.y(it.y1)};
        const ImVec2 start{g.lane_x(it.from_pos), g.y(it.y0)};
        CAPTURE(it.label);
        CHECK(vertices_near(dl, end, 1.5f) > 0);    // the tip of the head, or the cross's centre
        CHECK(vertices_near(dl, start, 2.5f) > 0);  // the tail
        if (it.end == viz::End::Cross) {
            ++crosses;
            // the cross's arms reach 8 px out on both sides of the end
            CHECK(vertices_near(dl, {end.x - 8, end.y - 8}, 3) > 0);
            CHECK(vertices_near(dl, {end.x + 8, end.y + 8}, 3) > 0);
        }
        if (!it.label.empty()) {
            // glyph quads of the label, centred above the middle of the arrow
            const float mx = (start.x + end.x) / 2, my = (start.y + end.y) / 2;
            CHECK(vertices_in(dl, {mx - 60, my - g.font_size * 1.2f}, {mx + 60, my}) >= 8);
            ++labelled;
        }
    }
    CHECK(arrows > 10);
    CHECK(crosses >= 1);  // the server's SYN to the private address dies
    CHECK(labelled > 5);
    CHECK(stats.labels >= labelled);
}

TEST_CASE("only the items inside the canvas are drawn") {
    HeadlessImGui im;
    const auto d = viz::layout(demo("port", "true"));
    gui::View v = view_for(im);
    v.canvas_max = {1280, 400};
    const auto g = gui::canvas_geometry(d, v);
    REQUIRE(g.y(d.height) > 800);  // the diagram is taller than the canvas
    gui::LadderStats top;
    im.frame([&](ImDrawList* l) { top = gui::draw_ladder(l, d, v); });
    CHECK(top.drawn > 0);
    CHECK(top.culled > 0);
    CHECK(top.drawn + top.culled + top.folded == d.items.size());
    // scrolled to the end: the first items are culled, the last drawn
    gui::scroll_to(d, v, d.height, 0.9f);
    gui::LadderStats bottom;
    const ImDrawList& dl = im.frame([&](ImDrawList* l) { bottom = gui::draw_ladder(l, d, v); });
    CHECK(bottom.drawn > 0);
    CHECK(bottom.culled > 0);
    const auto g2 = gui::canvas_geometry(d, v);
    const auto& last = d.items.back();
    CHECK(fully_on_canvas(g2, v, last));
    // nothing is drawn below the canvas: every vertex is clipped to it or inside it
    for (const auto& cmd : dl.CmdBuffer) {
        CHECK(cmd.ClipRect.y - v.canvas_max.y <= 0.5f);
        CHECK(cmd.ClipRect.w - v.canvas_max.y <= 0.5f);
    }
}

TEST_CASE("a 100k-item diagram costs about as many vertices as a 1k one at the same zoom") {
    HeadlessImGui im;
    viz::LayoutOptions to_scale;
    to_scale.time = viz::TimeScale::ToScale;
    for (const auto& opt : {viz::LayoutOptions{}, to_scale}) {
        CAPTURE(static_cast<int>(opt.time));
        const auto small = viz::layout(gui::make_long_trace(1'000), opt);
        const auto large = viz::layout(gui::make_long_trace(100'000), opt);
        REQUIRE(large.items.size() > 50 * small.items.size());
        for (float zoom : {1.0f, 0.05f, 0.002f}) {
            CAPTURE(zoom);
            gui::View v = view_for(im);
            v.zoom = zoom;
            gui::LadderStats s_small, s_large;
            int small_vtx = im.frame([&](ImDrawList* l) { s_small = gui::draw_ladder(l, small, v); }).VtxBuffer.Size;
            const auto t0 = std::chrono::steady_clock::now();
            int large_vtx = im.frame([&](ImDrawList* l) { s_large = gui::draw_ladder(l, large, v); }).VtxBuffer.Size;
            const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
            MESSAGE("zoom ", zoom, ": 1k items -> ", small_vtx, " vertices (", s_small.drawn, " drawn, ", s_small.fold_marks,
                    " folds); 100k items -> ", large_vtx, " vertices (", s_large.drawn, " drawn, ", s_large.fold_marks,
                    " folds) in ", ms, " ms");
            CHECK(large_vtx <= small_vtx * 2 + 2000);
            CHECK(s_large.drawn + s_large.fold_marks <= 2000);
            CHECK(s_large.culled + s_large.folded + s_large.drawn == large.items.size());
            CHECK(ms < 250);  // generous: an unculled draw of 100k arrows takes seconds
        }
    }
}

TEST_CASE("zoomed far out, dense items fold into 'N items' marks") {
    HeadlessImGui im;
    const auto d = viz::layout(gui::make_long_trace(20'000));
    gui::View v = view_for(im);
    v.zoom = gui::fit_zoom(d, v, 1e-6f);
    gui::LadderStats s;
    im.frame([&](ImDrawList* l) { s = gui::draw_ladder(l, d, v); });
    CHECK(s.fold_marks >= 1);
    CHECK(s.folded > 19'000);
    CHECK(s.culled == d.items.size() - s.drawn - s.folded);
    // hovering a fold reports how many items it stands for
    const auto g = gui::canvas_geometry(d, v);
    const auto hit = gui::hit_test(d, v, {g.lane_x(1), g.y(d.height * 0.5)});
    CHECK(hit.fold_count > 1);
}

TEST_CASE("hit_test finds the arrow under the mouse and the lane under a header") {
    HeadlessImGui im;
    const auto d = viz::layout(demo("pasv", "false"));
    gui::View v = view_for(im);
    v.canvas_max = {1280, 100000};
    im.frame([&](ImDrawList*) {});  // the font is ready after a frame
    const auto g = gui::canvas_geometry(d, v);
    std::size_t checked = 0;
    for (std::size_t i = 0; i < d.items.size() && checked < 8; ++i) {
        const auto& it = d.items[i];
        if (it.kind != viz::ItemKind::Arrow) continue;
        // a point on the arrow, a third of the way along
        const ImVec2 a{g.lane_x(it.from_pos), g.y(it.y0)}, b{g.lane_x(it.to_pos), g.y(it.y1)};
        const ImVec2 p{a.x + (b.x - a.x) / 3, a.y + (b.y - a.y) / 3};
        CHECK(gui::hit_test(d, v, p).item == i);
        ++checked;
    }
    CHECK(checked == 8);
    const auto lane = gui::hit_test(d, v, {g.lane_x(2), g.header_h * 0.5f});
    CHECK(lane.lane == 2);
    CHECK_FALSE(gui::hit_test(d, v, {-5, -5}));
}

TEST_CASE("the current playback step is highlighted") {
    HeadlessImGui im;
    const auto d = viz::layout(demo("pasv", "false"));
    gui::View v = view_for(im);
    v.canvas_max = {1280, 100000};
    const viz::Item* arrow = nullptr;
    for (const auto& it : d.items)
        if (it.kind == viz::ItemKind::Arrow && !it.label.empty() && it.event != SIZE_MAX) {
            arrow = &it;
            break;
        }
    REQUIRE(arrow);
    const auto& th = gui::theme(v.theme);
    auto count_highlight = [&](const ImDrawList& dl) {
        std::size_t n = 0;
        for (const auto& vx : dl.VtxBuffer) n += vx.col == th.highlight;
        return n;
    };
    CHECK(count_highlight(im.frame([&](ImDrawList* l) { gui::draw_ladder(l, d, v); })) == 0);
    v.current_event = arrow->event;
    CHECK(count_highlight(im.frame([&](ImDrawList* l) { gui::draw_ladder(l, d, v); })) >= 4);
}

TEST_CASE("the UI scale makes text and lines bigger") {
    HeadlessImGui im;
    const auto d = viz::layout(demo("port", "true"));
    gui::View v = view_for(im);
    const auto g1 = gui::canvas_geometry(d, v);
    v.scale = 2;
    v.font_size = im.font()->FontSize * 2;
    const auto g2 = gui::canvas_geometry(d, v);
    CHECK(g2.header_h > g1.header_h * 1.8f);
    CHECK(g2.px_per_unit == doctest::Approx(g1.px_per_unit * 2));
}

// The enhanced order API, one registration function per concept (enhanced_<concept>.cpp);
// add_enhanced_routes (enhanced_routes.cpp) calls them all.
#pragma once

#include "order/enhanced_support.hpp"

namespace mercato::order::enhanced {

void add_modification_routes(http::router& routes, const deps_ptr& deps);
void add_split_routes(http::router& routes, const deps_ptr& deps);
void add_plan_routes(http::router& routes, const deps_ptr& deps);
void add_delivery_routes(http::router& routes, const deps_ptr& deps);
void add_cancellation_routes(http::router& routes, const deps_ptr& deps);
void add_note_routes(http::router& routes, const deps_ptr& deps);
void add_tag_routes(http::router& routes, const deps_ptr& deps);
void add_timeline_routes(http::router& routes, const deps_ptr& deps);
void add_analytics_routes(http::router& routes, const deps_ptr& deps);

}  // namespace mercato::order::enhanced

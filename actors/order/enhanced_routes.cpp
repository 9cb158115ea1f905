// The enhanced order API's entry point (see enhanced_routes.hpp): every concept's routes, under
// /orders… and /api/orders….
#include "order/enhanced_routes.hpp"

#include "order/enhanced_concepts.hpp"

namespace mercato::order {

void add_enhanced_routes(http::router& routes, const enhanced_dependencies& deps) {
  auto shared = std::make_shared<const enhanced_dependencies>(deps);
  enhanced::add_modification_routes(routes, shared);
  enhanced::add_split_routes(routes, shared);
  enhanced::add_plan_routes(routes, shared);
  enhanced::add_delivery_routes(routes, shared);
  enhanced::add_cancellation_routes(routes, shared);
  enhanced::add_note_routes(routes, shared);
  enhanced::add_tag_routes(routes, shared);
  enhanced::add_timeline_routes(routes, shared);
  enhanced::add_analytics_routes(routes, shared);
}

}  // namespace mercato::order

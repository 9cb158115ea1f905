// The registry of the 26 agents (DESIGN.md §2), in start order. Agents whose domain is not built
// yet use the platform factory; each domain issue swaps in its agent's own factory.
#include "mercato/agent_spec.hpp"
#include "runtime/platform_agent.hpp"

namespace mercato {

const std::vector<agent_spec>& agent_registry() {
  using rt = restart_type;
  auto* platform = &spawn_platform_agent;
  // clang-format off
  static const std::vector<agent_spec> table{
    // name                      off prefix            schema            title                              health_id                         restart        factory
    {"order",                     0, "order",          "orders",         "Order Agent",                     "order_agent",                    rt::permanent, platform},
    {"product",                   1, "product",        "catalog",        "Product Agent",                   "product_agent",                  rt::permanent, platform},
    {"inventory",                 2, "inventory",      "inventory",      "Inventory Agent",                 "inventory_agent",                rt::permanent, platform},
    {"marketplace",               3, "marketplace",    "marketplace",    "Marketplace Agent",               "marketplace_agent",              rt::permanent, platform},
    {"payment",                   4, "payment",        "payments",       "Payment Agent Enhanced",          "payment_agent_enhanced",         rt::permanent, platform},
    {"dynamic_pricing",           5, "pricing",        "pricing",        "Dynamic Pricing Agent",           "dynamic_pricing_agent",          rt::permanent, platform},
    {"carrier_selection",         6, "carrier",        "carriers",       "Carrier Selection Agent",         "carrier_selection_agent",        rt::permanent, platform},
    {"customer",                  7, "customer",       "customers",      "Customer Agent",                  "customer_agent",                 rt::permanent, platform},
    {"customer_communication",    8, "communication",  "communication",  "Customer Communication Agent",    "customer_communication_agent",   rt::permanent, platform},
    {"returns",                   9, "returns",        "returns",        "Returns Agent",                   "returns_agent",                  rt::permanent, platform},
    {"fraud_detection",          10, "fraud",          "fraud",          "Fraud Detection Agent",           "fraud_detection_agent",          rt::permanent, platform},
    {"recommendation",           11, "recommendation", "recommendation", "Recommendation Agent",            "recommendation_agent",           rt::permanent, platform},
    {"promotion",                12, "promotion",      "promotions",     "Promotion Agent",                 "promotion_agent",                rt::permanent, platform},
    {"risk_anomaly_detection",   13, "risk",           "risk",           "Risk and Anomaly Detection Agent","risk_anomaly_detection_agent",   rt::permanent, platform},
    {"knowledge_management",     14, "knowledge",      "knowledge",      "Knowledge Management Agent",      "knowledge_management_agent",     rt::permanent, platform},
    {"transport_management",     15, "transport",      "transport",      "Transport Management Agent",      "transport_management_agent",     rt::permanent, platform},
    {"warehouse",                16, "warehouse",      "warehouse",      "Warehouse Agent",                 "warehouse_agent",                rt::permanent, platform},
    {"document_generation",      17, "documents",      "documents",      "Document Generation Agent",       "document_generation_agent",      rt::permanent, platform},
    {"support",                  18, "support",        "support",        "Support Agent",                   "support_agent",                  rt::permanent, platform},
    {"d2c_ecommerce",            19, "d2c",            "d2c",            "D2C E-commerce Agent",            "d2c_ecommerce_agent",            rt::permanent, platform},
    {"after_sales",              20, "after-sales",    "after_sales",    "After-Sales Agent",               "after_sales_agent",              rt::permanent, platform},
    {"backoffice",               21, "backoffice",     "backoffice",     "Backoffice Agent",                "backoffice_agent",               rt::permanent, platform},
    {"infrastructure",           22, "infrastructure", "infrastructure", "Infrastructure Agent",            "infrastructure_agent",           rt::permanent, platform},
    {"ai_monitoring",            23, "self-healing",   "self_healing",   "AI Monitoring (Self-Healing) Agent", "ai_monitoring_agent",         rt::permanent, platform},
    {"monitoring",               24, "monitoring",     "monitoring",     "Monitoring Agent",                "monitoring_agent",               rt::permanent, platform},
    {"quality_control",          25, "quality",        "quality",        "Quality Control Agent",           "quality_control_agent",          rt::permanent, platform},
  };
  // clang-format on
  return table;
}

}  // namespace mercato

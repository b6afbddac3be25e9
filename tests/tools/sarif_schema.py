"""The part of SARIF 2.1.0 that ``crossorigin audit --sarif`` writes, as a JSON Schema.

Written from the OASIS SARIF 2.1.0 specification (sections 3.13 sarifLog, 3.14 run, 3.18
tool, 3.19 toolComponent, 3.20 invocation, 3.27 result, 3.28 location, 3.29
physicalLocation, 3.4 artifactLocation, 3.11 message, 3.49 reportingDescriptor, 3.50
reportingConfiguration, 3.58 notification, 3.8 property bags): the required properties,
the enumerations and the types, with ``additionalProperties: false`` wherever the
specification closes an object, so a misspelled or invented property fails.
"""

from __future__ import annotations

from typing import Any

LEVEL = {"enum": ["none", "note", "warning", "error"]}
MESSAGE: dict[str, Any] = {
    "type": "object",
    "properties": {
        "text": {"type": "string"},
        "markdown": {"type": "string"},
        "id": {"type": "string"},
        "arguments": {"type": "array", "items": {"type": "string"}},
        "properties": {"type": "object"},
    },
    "anyOf": [{"required": ["text"]}, {"required": ["id"]}],
    "additionalProperties": False,
}
MULTIFORMAT: dict[str, Any] = {
    "type": "object",
    "properties": {
        "text": {"type": "string"},
        "markdown": {"type": "string"},
        "properties": {"type": "object"},
    },
    "required": ["text"],
    "additionalProperties": False,
}
PROPERTY_BAG: dict[str, Any] = {
    "type": "object",
    "properties": {"tags": {"type": "array", "items": {"type": "string"}, "uniqueItems": True}},
}
ARTIFACT_LOCATION: dict[str, Any] = {
    "type": "object",
    "properties": {
        "uri": {"type": "string", "format": "uri-reference"},
        "uriBaseId": {"type": "string"},
        "index": {"type": "integer", "minimum": -1},
        "description": MESSAGE,
        "properties": PROPERTY_BAG,
    },
    "additionalProperties": False,
}
LOCATION: dict[str, Any] = {
    "type": "object",
    "properties": {
        "id": {"type": "integer", "minimum": -1},
        "physicalLocation": {
            "type": "object",
            "properties": {
                "artifactLocation": ARTIFACT_LOCATION,
                "properties": PROPERTY_BAG,
            },
            "anyOf": [{"required": ["artifactLocation"]}],
            "additionalProperties": False,
        },
        "message": MESSAGE,
        "properties": PROPERTY_BAG,
    },
    "additionalProperties": False,
}
REPORTING_DESCRIPTOR: dict[str, Any] = {
    "type": "object",
    "properties": {
        "id": {"type": "string"},
        "name": {"type": "string"},
        "shortDescription": MULTIFORMAT,
        "fullDescription": MULTIFORMAT,
        "help": MULTIFORMAT,
        "helpUri": {"type": "string", "format": "uri"},
        "defaultConfiguration": {
            "type": "object",
            "properties": {
                "enabled": {"type": "boolean"},
                "level": LEVEL,
                "rank": {"type": "number", "minimum": -1, "maximum": 100},
                "parameters": {"type": "object"},
                "properties": PROPERTY_BAG,
            },
            "additionalProperties": False,
        },
        "properties": PROPERTY_BAG,
    },
    "required": ["id"],
    "additionalProperties": False,
}
NOTIFICATION: dict[str, Any] = {
    "type": "object",
    "properties": {
        "message": MESSAGE,
        "level": LEVEL,
        "timeUtc": {"type": "string"},
        "properties": PROPERTY_BAG,
    },
    "required": ["message"],
    "additionalProperties": False,
}
RESULT: dict[str, Any] = {
    "type": "object",
    "properties": {
        "ruleId": {"type": "string"},
        "ruleIndex": {"type": "integer", "minimum": -1},
        "kind": {"enum": ["notApplicable", "pass", "fail", "review", "open", "informational"]},
        "level": LEVEL,
        "message": MESSAGE,
        "locations": {"type": "array", "items": LOCATION},
        "partialFingerprints": {"type": "object", "additionalProperties": {"type": "string"}},
        "fingerprints": {"type": "object", "additionalProperties": {"type": "string"}},
        "properties": PROPERTY_BAG,
    },
    "required": ["message"],
    "additionalProperties": False,
}
SARIF_SUBSET: dict[str, Any] = {
    "$schema": "http://json-schema.org/draft-07/schema#",
    "type": "object",
    "properties": {
        "$schema": {"type": "string", "format": "uri"},
        "version": {"const": "2.1.0"},
        "runs": {
            "type": ["array", "null"],
            "items": {
                "type": "object",
                "properties": {
                    "tool": {
                        "type": "object",
                        "properties": {
                            "driver": {
                                "type": "object",
                                "properties": {
                                    "name": {"type": "string"},
                                    "version": {"type": "string"},
                                    "semanticVersion": {"type": "string"},
                                    "informationUri": {"type": "string", "format": "uri"},
                                    "rules": {
                                        "type": "array",
                                        "items": REPORTING_DESCRIPTOR,
                                        "uniqueItems": True,
                                    },
                                    "properties": PROPERTY_BAG,
                                },
                                "required": ["name"],
                                "additionalProperties": False,
                            },
                            "properties": PROPERTY_BAG,
                        },
                        "required": ["driver"],
                        "additionalProperties": False,
                    },
                    "results": {"type": ["array", "null"], "items": RESULT},
                    "invocations": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "properties": {
                                "executionSuccessful": {"type": "boolean"},
                                "toolExecutionNotifications": {
                                    "type": "array",
                                    "items": NOTIFICATION,
                                },
                                "properties": PROPERTY_BAG,
                            },
                            "required": ["executionSuccessful"],
                            "additionalProperties": False,
                        },
                    },
                    "properties": PROPERTY_BAG,
                },
                "required": ["tool"],
                "additionalProperties": False,
            },
        },
        "properties": PROPERTY_BAG,
    },
    "required": ["version", "runs"],
    "additionalProperties": False,
}

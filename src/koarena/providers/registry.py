"""``api_type`` → provider instances: the one place that knows which class speaks which API."""

from __future__ import annotations

from collections.abc import Callable

from koarena.config import Endpoint, ModelEndpoint
from koarena.providers.anthropic import AnthropicProvider
from koarena.providers.apis import ANTHROPIC, GEMINI, OPENAI, api_family
from koarena.providers.base import Provider, ScrubbedProvider
from koarena.providers.gemini import GeminiProvider
from koarena.providers.openai_compat import OpenAICompatProvider

_PROVIDERS: dict[str, Callable[[ModelEndpoint, Endpoint], Provider]] = {
    OPENAI.name: OpenAICompatProvider,
    ANTHROPIC.name: AnthropicProvider,
    GEMINI.name: GeminiProvider,
}


def make_providers(model: ModelEndpoint) -> list[Provider]:
    """One provider per endpoint of ``model`` (call inside the running loop), each behind a
    `ScrubbedProvider`, so that no string it returns or raises carries its API key."""
    make = _PROVIDERS[api_family(model.api_type, f"model {model.name!r}").name]
    return [ScrubbedProvider(make(model, ep), ep.api_key.reveal() if ep.api_key else "")
            for ep in model.endpoints]

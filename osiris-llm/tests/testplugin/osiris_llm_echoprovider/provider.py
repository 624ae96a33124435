"""``echo``: replies with the last user message; counts words as tokens. No network, no key."""

from osiris.llm import ChatRequest, LLMProvider, Reply, Usage


class EchoProvider(LLMProvider):
    name = "echo"
    default_model = "echo-1"
    description = "Echoes the last user message (tests)."

    def chat(self, request: ChatRequest, *, on_text=None) -> Reply:
        last = next(m.content for m in reversed(request.messages) if m.role == "user")
        text = f"echo: {last}"
        if on_text:
            on_text(text)
        words = sum(len(m.content.split()) for m in request.messages)
        return Reply(text=text, usage=Usage(words, len(text.split())), model=self.config.model)

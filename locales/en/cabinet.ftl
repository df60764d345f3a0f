# Placeholder messages: the full texts of the bot replace this file.

language-name = English
greeting = Hello, { $name }!
documents-found =
    { $n ->
        [one] Found { $n } document
       *[other] Found { $n } documents
    }

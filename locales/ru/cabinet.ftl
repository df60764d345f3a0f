# Placeholder messages: the full texts of the bot replace this file.

language-name = Русский
greeting = Здравствуйте, { $name }!
documents-found =
    { $n ->
        [one] Найден { $n } документ
        [few] Найдено { $n } документа
       *[many] Найдено { $n } документов
    }
